"""Public profiles and the authenticated user."""

from django.contrib.auth import get_user_model
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from hub.accounts.selectors import user_is_moderator
from hub.forum.selectors import user_get_by_username, user_profile_page

from .. import serializers as s
from ..base import ApiView
from ..models import AccessToken
from ..permissions import IsAuthenticated, TokenHasScope


class UserDetailView(ApiView):
    @extend_schema(
        summary="A public profile", responses={200: s.UserProfileSerializer}, tags=["users"]
    )
    def get(self, request, username: str):
        try:
            user = user_get_by_username(username=username)
        except get_user_model().DoesNotExist as exc:
            raise Http404 from exc
        page = user_profile_page(user=user, viewer=request.user, limit=0)
        return Response(s.UserProfileSerializer(page, context={"request": request}).data)


class MeView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="The authenticated user", responses={200: s.MeSerializer}, tags=["users"]
    )
    def get(self, request):
        page = user_profile_page(user=request.user, viewer=request.user, limit=0)
        page.is_moderator = user_is_moderator(user=request.user)
        page.token_scopes = request.auth.scopes if isinstance(request.auth, AccessToken) else None
        return Response(s.MeSerializer(page, context={"request": request}).data)
