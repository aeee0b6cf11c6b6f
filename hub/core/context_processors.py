from django.conf import settings
from django.utils.functional import SimpleLazyObject

from .presence import presence_count


def site(request):
    return {
        "online_count": SimpleLazyObject(presence_count),  # counted only if a page shows it
        "site_url": settings.SITE_URL,
    }
