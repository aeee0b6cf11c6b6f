"""Which sign-in providers are on (hub/settings.py passes what the environment says, so no
Django imports here). A provider is on when its client id and secret are both set; with none
set, the log-in and sign-up pages show no provider button and the site has only its own
accounts."""

from urllib.parse import urlsplit

# Where each provider's authorize page lives: the log-in form posts to GradHub, which
# redirects there, so the Content-Security-Policy's form-action must allow it.
GITHUB_ORIGIN = "https://github.com"
GOOGLE_ORIGIN = "https://accounts.google.com"


def social_providers(
    *,
    github: tuple[str, str] = ("", ""),
    google: tuple[str, str] = ("", ""),
    oidc: tuple[str, str] = ("", ""),
    oidc_server_url: str = "",
    oidc_provider_id: str = "sso",
    oidc_name: str = "single sign-on",
) -> tuple[dict, list[str]]:
    """(allauth's SOCIALACCOUNT_PROVIDERS, the origins the log-in forms may redirect to), from
    (client id, secret) pairs."""
    providers: dict = {}
    origins: list[str] = []
    if all(github):
        # user:email lets allauth read which of the person's addresses GitHub has verified
        providers["github"] = {"APPS": [_app(*github)], "SCOPE": ["read:user", "user:email"]}
        origins.append(GITHUB_ORIGIN)
    if all(google):
        providers["google"] = {"APPS": [_app(*google)], "SCOPE": ["openid", "profile", "email"]}
        origins.append(GOOGLE_ORIGIN)
    if oidc_server_url and all(oidc):
        # Any OpenID Connect provider (Keycloak, GitLab, Authentik, ...), found by discovery.
        app = _app(*oidc) | {
            "provider_id": oidc_provider_id,
            "name": oidc_name,
            "settings": {"server_url": oidc_server_url},
        }
        providers["openid_connect"] = {"OAUTH_PKCE_ENABLED": True, "APPS": [app]}
        origins.append(_origin(oidc_server_url))
    return providers, origins


def _app(client_id: str, secret: str) -> dict:
    return {"client_id": client_id, "secret": secret}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
