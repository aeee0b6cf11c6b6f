"""Reads for notifications."""

from .models import Notification, QuestionFollow


def notification_list(*, user):
    """The user's notifications, newest first (paginate in the view)."""
    return Notification.objects.filter(recipient=user).select_related("actor")


def notification_unread_count(*, user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, is_read=False).count()


def question_is_followed(*, user, question) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    known = getattr(question, "viewer_follows", None)  # read with the question (member layer)
    if known is not None:
        return known
    return QuestionFollow.objects.filter(user=user, question=question).exists()
