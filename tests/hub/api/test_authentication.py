"""Personal access tokens: how they authenticate, and every way they stop working."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from hub.api.models import AccessToken
from hub.api.services import MAX_TOKENS_PER_USER, token_create, token_hash, token_revoke
from hub.core.ratelimit import RateLimited

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_token_create_stores_only_a_hash_and_a_display_prefix(make_user):
    token, raw = token_create(user=make_user(), name="laptop", scopes=["read"])
    # GradHub's own prefix: secret scanners must not report our tokens as GitHub's (ghp_).
    assert raw.startswith("gradhub_") and len(raw) >= 40
    assert token.key_hash == token_hash(raw) and raw not in token.key_hash
    assert raw.startswith(token.display_prefix) and len(token.display_prefix) == 16
    assert not AccessToken.objects.filter(key_hash=raw).exists()


def test_tokens_issued_with_the_old_ghp_prefix_still_authenticate(make_user):
    user = make_user()
    raw = "ghp_" + "x" * 40  # as token_create made them before the prefix changed
    AccessToken.objects.create(
        user=user, name="old", display_prefix=raw[:12], key_hash=token_hash(raw), scopes=["read"]
    )
    response = _bearer(raw).get("/api/v1/users/me/")
    assert response.status_code == 200 and response.json()["username"] == user.username


def test_a_valid_token_authenticates_as_its_user(make_user, make_token):
    user = make_user()
    response = _bearer(make_token(user, ["read"])).get("/api/v1/users/me/")
    assert response.status_code == 200
    assert response.json()["username"] == user.username
    assert response.json()["token_scopes"] == ["read"]


@pytest.mark.parametrize(
    "header, message",
    [
        ("Bearer gradhub_not-a-real-token", "Invalid access token."),
        ("Bearer ghp_not-a-real-token", "Invalid access token."),
        ("Bearer something-else", "That is not a GradHub access token."),
        ("Bearer", "Malformed Authorization header"),
    ],
)
def test_bad_token_headers_get_401_with_the_reason(header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/questions/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.json()["error"]
    assert body["code"] == "authentication_failed"
    assert message in body["message"]


def test_a_revoked_token_is_refused(make_user):
    user = make_user()
    token, raw = token_create(user=user, name="ci", scopes=["read"])
    assert _bearer(raw).get("/api/v1/users/me/").status_code == 200
    token_revoke(user=user, token=token)
    response = _bearer(raw).get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This access token was revoked."


def test_an_expired_token_is_refused(make_user):
    token, raw = token_create(user=make_user(), name="ci", scopes=["read"], expires_days=1)
    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = _bearer(raw).get("/api/v1/users/me/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This access token has expired."


def test_a_disabled_account_cannot_use_its_token(make_user, make_token):
    user = make_user()
    raw = make_token(user)
    user.is_active = False
    user.save()
    assert _bearer(raw).get("/api/v1/users/me/").status_code == 401


def test_someone_elses_token_cannot_be_revoked(make_user):
    from django.core.exceptions import PermissionDenied

    token, _ = token_create(user=make_user(), name="mine", scopes=["read"])
    with pytest.raises(PermissionDenied):
        token_revoke(user=make_user(), token=token)


def test_last_used_at_is_written_at_most_once_a_minute(make_user):
    token, raw = token_create(user=make_user(), name="ci", scopes=["read"])
    client = _bearer(raw)
    client.get("/api/v1/users/me/")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/users/me/")
    token.refresh_from_db()
    assert token.last_used_at == first  # within the minute: no write
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/users/me/")
    token.refresh_from_db()
    assert token.last_used_at > first


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scopes": ["admin"]}, "Unknown scope admin"),
        ({"scopes": []}, "Choose at least one scope"),
        ({"scopes": ["read"], "name": " "}, "Give the token a name"),
        ({"scopes": ["read"], "expires_days": 0}, "Expiry must be between"),
        ({"scopes": ["read"], "expires_days": 5000}, "Expiry must be between"),
    ],
)
def test_token_create_refuses_bad_input_with_a_reason(make_user, kwargs, message):
    from django.core.exceptions import ValidationError

    kwargs.setdefault("name", "ci")
    with pytest.raises(ValidationError, match=message):
        token_create(user=make_user(), **kwargs)


def test_session_auth_enforces_csrf_on_writes(make_user):
    user = make_user()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/users/me/").status_code == 200
    response = client.post(
        "/api/v1/questions/",
        {"title": "A question title long enough", "body": "x" * 30},
        format="json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_create_token_command_prints_a_working_token(make_user, capsys):
    user = make_user()
    call_command("create_token", user.username, "--scopes", "read,traces", "--expires-days", "7")
    raw = capsys.readouterr().out.strip()
    token = AccessToken.objects.get(key_hash=token_hash(raw))
    assert token.user == user and token.scopes == ["read", "traces"]
    assert timedelta(days=6) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert _bearer(raw).get("/api/v1/users/me/").json()["username"] == user.username


def test_create_token_command_explains_a_bad_scope_or_user(make_user):
    with pytest.raises(CommandError, match="No user named"):
        call_command("create_token", "nobody-here")
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_token", make_user().username, "--scopes", "root")


def test_token_creation_is_rate_limited_per_user(make_user):
    user = make_user()
    with pytest.raises(RateLimited):
        for n in range(MAX_TOKENS_PER_USER):
            token_create(user=user, name=f"script {n}", scopes=["read"])
    assert AccessToken.objects.filter(user=user).count() < MAX_TOKENS_PER_USER
    token_create(user=make_user(), name="someone else", scopes=["read"])


def test_revoked_tokens_still_count_toward_the_cap_for_a_day(make_user):
    user = make_user()
    for n in range(MAX_TOKENS_PER_USER):
        AccessToken.objects.create(
            user=user, name=f"old {n}", key_hash=f"{n:064x}", revoked_at=timezone.now()
        )
    with pytest.raises(PermissionDenied):
        token_create(user=user, name="one more", scopes=["read"])
    AccessToken.objects.filter(user=user).update(created_at=timezone.now() - timedelta(days=2))
    token_create(user=user, name="one more", scopes=["read"])
