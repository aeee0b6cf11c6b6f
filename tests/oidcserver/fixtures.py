"""Fixtures for signing in through the test OpenID Connect provider (registered for the whole
suite in tests/conftest.py): the provider process, GradHub configured for it from the same
environment variables a deployment sets, and a person's walk through its pages."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import requests

from hub.accounts.providers import social_providers

from . import CLIENT_ID, CLIENT_SECRET, PASSWORD, OIDCServerProcess, ProviderUser

PROVIDER_ID = "sso"
PROVIDER_NAME = "Test provider"
CALLBACK_PATH = f"/accounts/oidc/{PROVIDER_ID}/login/callback/"
LOGIN_PATH = f"/accounts/oidc/{PROVIDER_ID}/login/"

# Each test signs in as its own provider user, so one provider process serves them all.
PROVIDER_USERS = [
    ProviderUser("newcomer", "newcomer@example.org", True, "Ada Newcomer"),
    ProviderUser("returning", "returning@example.org", True),
    ProviderUser("linker", "linker@example.org", True, "Linus Linker"),
    ProviderUser("unverified", "taken@example.org", False, "Una Verified"),
    ProviderUser("clash", "clash@example.org", True),
    ProviderUser("deactivated", "deactivated@example.org", True),
    ProviderUser("browser-user", "browser@example.org", True, "Bea Browser"),
]


@pytest.fixture(scope="session")
def oidc_server(live_server, tmp_path_factory):
    server = OIDCServerProcess(
        statedir=tmp_path_factory.mktemp("oidcserver"),
        users=PROVIDER_USERS,
        # the Django test client's host, and the live server the browser tests use
        redirect_uris=[f"http://testserver{CALLBACK_PATH}", f"{live_server.url}{CALLBACK_PATH}"],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def oidc_provider(oidc_server, settings):
    """GradHub with the test provider switched on, as the OIDC_* variables switch one on."""
    providers, origins = social_providers(
        oidc=(CLIENT_ID, CLIENT_SECRET),
        oidc_server_url=oidc_server.server_url,
        oidc_provider_id=PROVIDER_ID,
        oidc_name=PROVIDER_NAME,
    )
    settings.SOCIALACCOUNT_PROVIDERS = providers
    policy = settings.CONTENT_SECURITY_POLICY
    form_action = [*policy["DIRECTIVES"]["form-action"], *origins]
    settings.CONTENT_SECURITY_POLICY = {
        **policy,
        "DIRECTIVES": {**policy["DIRECTIVES"], "form-action": form_action},
    }
    return oidc_server


class _FormInputs(HTMLParser):
    """The name/value pairs of the <input>s of the page's forms (hidden fields, buttons)."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") and attrs.get("type") != "submit":
            self.fields[attrs["name"]] = attrs.get("value") or ""


def _inputs(html: str) -> dict[str, str]:
    parser = _FormInputs()
    parser.feed(html)
    return parser.fields


def provider_sign_in(client, *, username: str, next_url: str = "", consent: bool = True):
    """A person's sign-in through the provider, for the Django test client: GradHub's button,
    the provider's login form and consent page (over HTTP, as a browser would; `consent`
    False declines), then the callback back to GradHub. Returns GradHub's response to it."""
    start = client.post(LOGIN_PATH, {"next": next_url} if next_url else {})
    assert start.status_code == 302, start
    person = requests.Session()
    login_page = person.get(start["Location"], timeout=10)
    assert "Test provider: sign in" in login_page.text
    consent_page = person.post(
        login_page.url,
        data={**_inputs(login_page.text), "username": username, "password": PASSWORD},
        timeout=10,
    )
    assert re.search(r'name="allow"', consent_page.text), consent_page.text[:500]
    to_gradhub = person.post(
        consent_page.url,
        data={**_inputs(consent_page.text), **({"allow": "Authorize"} if consent else {})},
        allow_redirects=False,
        timeout=10,
    )
    assert to_gradhub.status_code == 302, to_gradhub.text[:500]
    callback = urlsplit(to_gradhub.headers["Location"])
    assert callback.path == CALLBACK_PATH
    return client.get(f"{callback.path}?{callback.query}")
