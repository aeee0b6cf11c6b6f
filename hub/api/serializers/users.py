"""Users: the summary beside a post, a public profile, and the authenticated user."""

from rest_framework import serializers

from hub.accounts.services import profile_get

from ..models import SCOPES
from .fields import absolute


class UserSummarySerializer(serializers.Serializer):
    username = serializers.CharField()
    reputation = serializers.SerializerMethodField()
    is_bot = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def _profile(self, user):
        return profile_get(user=user)

    def get_reputation(self, user) -> int:
        return self._profile(user).reputation

    def get_is_bot(self, user) -> bool:
        return self._profile(user).is_bot

    def get_url(self, user) -> str:
        return absolute(self.context.get("request"), f"/users/{user.username}/")


class BadgeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    level = serializers.ChoiceField(choices=["bronze", "silver", "gold"])


class UserProfileSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    reputation = serializers.IntegerField()
    is_bot = serializers.BooleanField(source="user.profile.is_bot")
    bio = serializers.CharField(source="user.profile.bio")
    date_joined = serializers.DateTimeField(source="user.date_joined")
    question_count = serializers.IntegerField()
    answer_count = serializers.IntegerField()
    accepted_count = serializers.IntegerField()
    badges = BadgeSerializer(many=True)
    url = serializers.SerializerMethodField()

    def get_url(self, page) -> str:
        return absolute(self.context.get("request"), f"/users/{page.user.username}/")


class MeSerializer(UserProfileSerializer):
    email = serializers.EmailField(source="user.email")
    is_moderator = serializers.BooleanField()
    token_scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SCOPES)),
        allow_null=True,
        help_text="The scopes of the token used for this request (null for a browser session).",
    )
