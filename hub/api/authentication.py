"""Personal access tokens: ``Authorization: Bearer gradhub_...`` (or an older ``ghp_...``)."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.authentication import SessionAuthentication  # noqa: F401 (re-exported)

from .models import LEGACY_TOKEN_PREFIXES, TOKEN_PREFIX
from .selectors import token_get_by_raw
from .services import token_touch

KEYWORD = "Bearer"


class AccessTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates a request carrying a personal access token; request.auth is the token."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != KEYWORD.lower():
            return None  # not ours: the session (or nobody) authenticates the request
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: use 'Authorization: Bearer <token>'."
            )
        raw = header[1]
        if not raw.startswith((TOKEN_PREFIX, *LEGACY_TOKEN_PREFIXES)):
            raise exceptions.AuthenticationFailed("That is not a GradHub access token.")
        token = token_get_by_raw(raw=raw)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid access token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This access token was revoked.")
        if token.expires_at is not None and token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("This access token has expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This account is disabled.")
        token_touch(token=token)
        return token.user, token

    def authenticate_header(self, request):
        # Makes unauthenticated requests answer 401 (with this challenge) rather than 403.
        return f'{KEYWORD} realm="api"'


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = AccessTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": f"{TOKEN_PREFIX}…",
            "description": "A personal access token (scopes read, write, traces) from your "
            "settings page or `manage.py create_token`.",
        }
