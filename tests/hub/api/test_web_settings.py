"""The settings pages for people: tokens shown once, revocation, webhooks and their log."""

import pytest
from django.test import Client

from hub.api.models import TOKEN_PREFIX, AccessToken, WebhookEndpoint
from hub.api.services import MAX_TOKENS_PER_USER, token_hash

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_for(make_user):
    def make(user=None):
        client = Client()
        client.force_login(user or make_user())
        return client

    return make


def test_the_settings_page_needs_a_login():
    response = Client().get("/settings/tokens/")
    assert response.status_code == 302 and "/accounts/login/" in response.headers["Location"]


def test_a_new_token_is_shown_once_and_then_only_its_prefix(make_user, browser_for):
    user = make_user()
    client = browser_for(user)
    response = client.post(
        "/settings/tokens/new/",
        {"name": "CI", "scopes": ["read", "traces"], "expires_days": "30"},
        follow=True,
    )
    assert response.status_code == 200
    raw = response.context["new_token"]["raw"]
    token = AccessToken.objects.get(user=user)
    assert token.key_hash == token_hash(raw) and token.scopes == ["read", "traces"]
    assert raw in response.content.decode()
    again = client.get("/settings/tokens/").content.decode()
    assert raw not in again and token.display_prefix in again


def test_token_form_errors_are_shown(browser_for):
    response = browser_for().post("/settings/tokens/new/", {"name": "", "scopes": []})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_revoking_a_token_stops_it(make_user, browser_for, make_token):
    from rest_framework.test import APIClient

    user = make_user()
    raw = make_token(user, ["read"])
    token = AccessToken.objects.get(key_hash=token_hash(raw))
    browser_for(user).post(f"/settings/tokens/{token.pk}/revoke/")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/v1/users/me/").status_code == 401
    # someone else cannot revoke it (and learns nothing)
    other_token = AccessToken.objects.get(key_hash=token_hash(make_token(make_user())))
    assert browser_for(user).post(f"/settings/tokens/{other_token.pk}/revoke/").status_code == 404
    other_token.refresh_from_db()
    assert other_token.revoked_at is None


def test_webhook_create_shows_the_secret_once_and_manages_the_endpoint(
    make_user, browser_for, monkeypatch
):
    from hub.api.tasks import deliver_webhook

    user = make_user()
    client = browser_for(user)
    response = client.post(
        "/settings/webhooks/new/",
        {"url": "https://ci.example.com/hook", "events": ["diagnosis.ready"]},
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get(user=user)
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in client.get("/settings/tokens/").content.decode()
    client.post(f"/settings/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    monkeypatch.setattr(deliver_webhook, "delay", lambda pk: None)
    log = client.post(f"/settings/webhooks/{endpoint.pk}/ping/", follow=True)
    assert "ping" in log.content.decode() and log.context["deliveries"][0].event == "ping"
    assert browser_for().get(f"/settings/webhooks/{endpoint.pk}/").status_code == 404
    client.post(f"/settings/webhooks/{endpoint.pk}/delete/")
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_a_private_webhook_host_is_refused_in_production(settings, browser_for):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    response = browser_for().post(
        "/settings/webhooks/new/", {"url": "http://127.0.0.1:9000/", "events": ["diagnosis.ready"]}
    )
    assert response.status_code == 400
    assert "private or local address" in response.content.decode()


def test_the_profile_page_shows_the_token_section_to_its_owner_only(make_user, browser_for):
    user = make_user()
    own = browser_for(user).get(f"/users/{user.username}/")
    assert "API tokens" in own.content.decode() and "Create token" in own.content.decode()
    someone_else = browser_for().get(f"/users/{user.username}/").content.decode()
    assert "Create token" not in someone_else


def test_creating_tokens_too_fast_on_the_settings_page_is_a_429(make_user, browser_for):
    client = browser_for(make_user())
    statuses = {
        client.post("/settings/tokens/new/", {"name": f"t{n}", "scopes": ["read"]}).status_code
        for n in range(MAX_TOKENS_PER_USER)
    }
    assert 429 in statuses and 500 not in statuses


def test_a_new_token_is_shown_by_the_creating_response_and_never_kept_in_the_session(
    make_user, browser_for
):
    from django.conf import settings
    from django.contrib.sessions.backends.base import SessionBase
    from django.utils.module_loading import import_string

    client = browser_for(make_user())
    response = client.post("/settings/tokens/new/", {"name": "CI", "scopes": ["read"]})
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    store: SessionBase = import_string(f"{settings.SESSION_ENGINE}.SessionStore")(key)
    assert TOKEN_PREFIX not in repr(store.load())
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    raw = response.context["new_token"]["raw"]
    assert raw.startswith(TOKEN_PREFIX) and raw in response.content.decode()
