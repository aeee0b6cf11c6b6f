from django.utils.functional import SimpleLazyObject

from hub.accounts.selectors import user_is_moderator


def roles(request):
    """``is_moderator`` for the templates, looked up only if a page asks."""
    return {"is_moderator": SimpleLazyObject(lambda: _is_moderator(request))}


def _is_moderator(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user_is_moderator(user=user))
