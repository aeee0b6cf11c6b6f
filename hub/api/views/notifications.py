"""The authenticated user's notifications."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from hub.notifications.selectors import notification_list
from hub.notifications.services import notification_mark_read, notifications_mark_all_read

from .. import serializers as s
from ..base import ApiView
from ..permissions import IsAuthenticated, TokenHasScope
from .common import CURSOR_PARAMS, paginated_response, validated_query


class NotificationListView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(
        summary="Your notifications, newest first",
        parameters=[s.NotificationListQuerySerializer, *CURSOR_PARAMS],
        responses={200: paginated_response(s.NotificationSerializer)},
        tags=["notifications"],
    )
    def get(self, request):
        query = validated_query(s.NotificationListQuerySerializer, request)
        notifications = notification_list(user=request.user)
        if query.get("unread") is not None:
            notifications = notifications.filter(is_read=not query["unread"])
        return self.paginated(notifications, s.NotificationSerializer)


class NotificationReadView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="Mark one notification read",
        request=None,
        responses={200: s.NotificationSerializer},
        tags=["notifications"],
    )
    def post(self, request, notification_id: int):
        notification = notification_mark_read(user=request.user, notification_id=notification_id)
        if notification is None:
            raise Http404
        return Response(s.NotificationSerializer(notification, context={"request": request}).data)


class NotificationReadAllView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="Mark all your notifications read",
        request=None,
        responses={200: s.MarkedReadSerializer},
        tags=["notifications"],
    )
    def post(self, request):
        marked = notifications_mark_all_read(user=request.user)
        return Response(s.MarkedReadSerializer({"marked": marked}).data)
