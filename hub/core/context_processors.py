from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .presence import presence_count


def site(request):
    return {
        "online_count": SimpleLazyObject(presence_count),  # counted only if a page shows it
        "site_url": settings.SITE_URL,
        "is_moderator": SimpleLazyObject(lambda: _is_moderator(request)),
    }


def _is_moderator(request) -> bool:
    from hub.accounts.selectors import user_is_moderator

    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user_is_moderator(user=user))
