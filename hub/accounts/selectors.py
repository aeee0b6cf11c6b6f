"""Reads for accounts."""

from django.contrib.auth import get_user_model

User = get_user_model()

MODERATORS_GROUP = "moderators"


def user_is_moderator(*, user) -> bool:
    """Staff, superusers and members of the "moderators" group moderate the forum."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, "_is_moderator", None)
    if cached is None:
        cached = user.groups.filter(name=MODERATORS_GROUP).exists()
        user._is_moderator = cached
    return cached


def user_reputation(*, user) -> int:
    from .services import profile_get

    return profile_get(user=user).reputation
