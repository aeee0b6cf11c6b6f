"""Token scopes. Who may do what to which object is decided by the services, as on the web."""

from rest_framework import permissions

from .models import SCOPE_READ, SCOPE_WRITE, AccessToken


def required_scopes(*, request, view) -> set[str]:
    """The scopes of which a token needs one: `view.token_scopes` maps a method to them."""
    mapping = getattr(view, "token_scopes", None) or {}
    if request.method in mapping:
        return set(mapping[request.method])
    if request.method in permissions.SAFE_METHODS:
        return {SCOPE_READ}
    return {SCOPE_WRITE}


class TokenHasScope(permissions.BasePermission):
    """A token must carry a scope for the method; a browser session may do everything."""

    message = "This access token lacks the scope for this request."

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, AccessToken):
            return True
        needed = required_scopes(request=request, view=view)
        if needed & set(token.scopes):
            return True
        self.message = (
            f"This access token lacks the {' or '.join(sorted(needed))} scope "
            f"needed for {request.method} here (it has: {', '.join(token.scopes)})."
        )
        return False


# DRF's own classes, not subclasses: drf-spectacular recognises exactly these to document
# optional authentication (and DRF answers a missing login with NotAuthenticated anyway).
IsAuthenticatedOrReadOnly = permissions.IsAuthenticatedOrReadOnly
IsAuthenticated = permissions.IsAuthenticated


class IsStaffOrReadOnly(permissions.BasePermission):
    message = "Only staff may change this."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
