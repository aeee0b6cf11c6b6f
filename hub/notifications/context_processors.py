from django.utils.functional import SimpleLazyObject

from .selectors import notification_unread_count


def notifications(request):
    """unread_notifications for the header: one COUNT, only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": SimpleLazyObject(lambda: notification_unread_count(user=user))}
