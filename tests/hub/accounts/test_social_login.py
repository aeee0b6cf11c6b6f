"""Sign in with a provider, end to end against a real OpenID Connect provider process
(tests/oidcserver: django-oauth-toolkit on 127.0.0.1), configured in allauth's openid_connect
provider from OIDC_* variables, exactly as GitHub and Google are from theirs."""

import json
import os
import re
import subprocess
import sys

import pytest
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.core import mail

from hub.accounts.providers import GITHUB_ORIGIN, GOOGLE_ORIGIN, social_providers
from hub.accounts.services import bot_user_get, username_suggest
from tests.oidcserver.fixtures import LOGIN_PATH, PROVIDER_NAME, provider_sign_in

User = get_user_model()
pytestmark = pytest.mark.django_db


def _signed_in_user(client):
    return User.objects.get(pk=client.session["_auth_user_id"])


def test_login_and_signup_pages_offer_the_configured_provider(client, oidc_provider):
    for path in ["/accounts/login/?next=/questions/", "/accounts/signup/"]:
        page = client.get(path).content.decode()
        assert f'action="{LOGIN_PATH}' in page
        assert f"Continue with {PROVIDER_NAME}" in page
        assert 'name="username"' in page  # the site's own form is still there
    # the log-in page's form may redirect to the provider (CSP form-action)
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    assert oidc_provider.url in policy


def test_a_new_person_signing_in_with_the_provider_gets_an_account(client, oidc_provider):
    response = provider_sign_in(client, username="newcomer", next_url="/questions/")
    assert response.status_code == 302 and response["Location"] == "/questions/"
    user = _signed_in_user(client)
    assert (user.username, user.email) == ("newcomer", "newcomer@example.org")
    assert user.profile.reputation == 1  # a GradHub member like any other
    assert not user.has_usable_password()
    assert SocialAccount.objects.get(user=user).provider == "sso"
    assert client.get("/questions/").content.decode().count("/users/newcomer/") >= 1


def test_a_member_sees_and_manages_their_connected_accounts(client, oidc_provider):
    provider_sign_in(client, username="returning")
    profile_page = client.get("/accounts/profile/").content.decode()
    assert f"Sign in with {PROVIDER_NAME} too" in profile_page
    connections = client.get("/accounts/social/")
    assert connections.status_code == 200
    page = connections.content.decode()
    assert 'class="site-header"' in page  # allauth's page in the site's frame
    assert PROVIDER_NAME in page and "returning" in page


def test_declining_at_the_provider_signs_in_no_one_and_says_so(client, oidc_provider):
    users_before = User.objects.count()
    response = provider_sign_in(client, username="newcomer", consent=False)
    assert response["Location"] == "/accounts/social/login/cancelled/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "cancel" in page.content.decode().lower()
    assert 'href="/accounts/login/"' in page.content.decode()  # a way back to log in
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == users_before


def test_signing_in_again_with_the_provider_reuses_the_account(client, oidc_provider):
    provider_sign_in(client, username="returning")
    first = _signed_in_user(client)
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session
    provider_sign_in(client, username="returning")
    assert _signed_in_user(client) == first
    assert User.objects.filter(email="returning@example.org").count() == 1


def test_a_verified_address_of_an_existing_account_signs_in_to_it_and_links_it(
    client, make_user, oidc_provider
):
    local = make_user("linus", email="linker@example.org")
    users_before = User.objects.count()
    provider_sign_in(client, username="linker")
    assert _signed_in_user(client) == local
    assert User.objects.count() == users_before
    assert SocialAccount.objects.filter(user=local, provider="sso").exists()
    # The address was never verified here, so the password someone set with it is removed
    # (allauth's defence against an account made in advance with another person's address).
    local.refresh_from_db()
    assert not local.has_usable_password()


def test_an_account_without_a_password_can_set_one_by_e_mail(client, oidc_provider):
    provider_sign_in(client, username="newcomer")
    client.post("/accounts/logout/")
    response = client.post("/accounts/password/reset/", {"email": "newcomer@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newcomer@example.org"]
    reset_link = re.search(r"http://testserver(/accounts/password/reset/\S+)", mail.outbox[0].body)
    form_page = client.get(reset_link.group(1), follow=True)
    new_password = "a fresh passphrase 77"
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert client.login(username="newcomer", password=new_password)


def test_the_bot_never_gets_a_password_reset_e_mail(client, db):
    bot = bot_user_get()
    client.post("/accounts/password/reset/", {"email": bot.email})
    assert mail.outbox == []


def test_a_deactivated_account_stays_closed_to_its_provider(client, make_user, oidc_provider):
    make_user("closed", email="deactivated@example.org", is_active=False)
    response = provider_sign_in(client, username="deactivated")
    assert response["Location"] == "/accounts/inactive/"
    assert "inactive" in client.get("/accounts/inactive/").content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_an_unverified_address_does_not_link_to_the_account_holding_it(
    client, make_user, oidc_provider
):
    local = make_user("holder", email="taken@example.org")
    provider_sign_in(client, username="unverified")
    newcomer = _signed_in_user(client)
    assert newcomer != local
    assert newcomer.username == "unverified"
    assert newcomer.email == ""  # made without the address, as sign-up does
    local.refresh_from_db()
    assert local.has_usable_password()
    assert not SocialAccount.objects.filter(user=local).exists()


def test_a_taken_username_gets_a_number(client, make_user, oidc_provider):
    make_user("clash", email="someone-else@example.org")
    provider_sign_in(client, username="clash")
    assert _signed_in_user(client).username == "clash-2"


def test_without_provider_keys_there_is_no_button_and_no_route_error(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    for path in ["/accounts/login/", "/accounts/signup/"]:
        response = client.get(path)
        assert response.status_code == 200
        assert "Continue with" not in response.content.decode()
    for path in ["/accounts/github/login/", "/accounts/google/login/", LOGIN_PATH]:
        assert client.post(path).status_code == 404, path
        assert client.get(path.replace("login/", "login/callback/")).status_code == 404, path


def _settings_with(env: dict[str, str]) -> dict:
    """The social-login settings a fresh process derives from these variables alone."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GOOGLE_", "OIDC_"))
    }
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SOCIALACCOUNT_PROVIDERS, "
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=clean | env | {"DJANGO_SETTINGS_MODULE": "hub.settings", "DATABASE_URL": "sqlite://"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    providers, form_action = json.loads(result.stdout.strip().splitlines()[-1])
    return {"providers": providers, "form_action": form_action}


def test_provider_keys_come_from_the_environment():
    assert _settings_with({}) == {"providers": {}, "form_action": ["'self'"]}

    both = _settings_with(
        {
            "GITHUB_CLIENT_ID": "gh-id",
            "GITHUB_CLIENT_SECRET": "gh-secret",
            "GOOGLE_CLIENT_ID": "g-id",  # no secret: stays off
            "OIDC_SERVER_URL": "https://sso.example.org/realms/ml",
            "OIDC_CLIENT_ID": "o-id",
            "OIDC_CLIENT_SECRET": "o-secret",
            "OIDC_PROVIDER_NAME": "Lab SSO",
        }
    )
    github, oidc = both["providers"]["github"], both["providers"]["openid_connect"]
    assert set(both["providers"]) == {"github", "openid_connect"}
    assert github["APPS"] == [{"client_id": "gh-id", "secret": "gh-secret"}]
    assert "user:email" in github["SCOPE"]  # to read which addresses GitHub verified
    assert oidc["APPS"][0]["settings"] == {"server_url": "https://sso.example.org/realms/ml"}
    assert oidc["APPS"][0]["name"] == "Lab SSO"
    assert both["form_action"] == ["'self'", GITHUB_ORIGIN, "https://sso.example.org"]


def test_google_needs_its_id_and_secret():
    providers, origins = social_providers(google=("g-id", "g-secret"))
    assert providers["google"]["APPS"] == [{"client_id": "g-id", "secret": "g-secret"}]
    assert origins == [GOOGLE_ORIGIN]
    assert social_providers(google=("", "g-secret")) == ({}, [])


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        (["ada"], "ada"),
        (["Ada Lovelace!"], "Ada-Lovelace"),
        (["", "ab", "ada.l@example.org"], "ada-l-example-org"),
        (["admin"], "admin-2"),  # reserved names are never given out
        (["x" * 40], "x" * 30),
        (["", "é"], "member"),
    ],
)
def test_username_suggest_makes_a_valid_free_name(db, hints, expected):
    assert username_suggest(hints=hints) == expected


def test_username_suggest_skips_taken_names(make_user):
    make_user("ada")
    make_user("ada-2")
    assert username_suggest(hints=["ada"]) == "ada-3"
