import itertools

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError

from hub.accounts import services, views
from hub.accounts.models import Profile

User = get_user_model()
_ip = itertools.count(1)
PASSWORD = "correct-horse-battery-42"


@pytest.fixture
def client(client):
    n = next(_ip)
    client.defaults["REMOTE_ADDR"] = f"10.8.{n // 250}.{n % 250 + 1}"
    return client


def test_user_create_makes_a_profile_starting_at_one(db):
    user = services.user_create(username="ada", email="ada@example.com", password=PASSWORD)
    assert user.profile.reputation == 1 and not user.profile.is_bot
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize(
    "username, email, password",
    [
        ("ab", "a@example.com", PASSWORD),  # too short
        ("has space", "a@example.com", PASSWORD),
        ("gradient-doctor", "a@example.com", PASSWORD),  # reserved for the bot
        ("grace", "not-an-email", PASSWORD),
        ("grace", "g@example.com", "123"),  # weak password
    ],
)
def test_user_create_refuses_bad_input(db, username, email, password):
    with pytest.raises(ValidationError):
        services.user_create(username=username, email=email, password=password)
    assert not User.objects.exists()


def test_usernames_and_emails_are_unique_ignoring_case(db):
    services.user_create(username="Ada", email="ada@example.com", password=PASSWORD)
    with pytest.raises(ValidationError, match="taken"):
        services.user_create(username="ada", email="other@example.com", password=PASSWORD)
    with pytest.raises(ValidationError, match="e-mail"):
        services.user_create(username="ada2", email="ADA@example.com", password=PASSWORD)


def test_profile_get_creates_missing_profiles(db):
    user = User.objects.create_user(username="legacy", password=PASSWORD)
    assert services.profile_get(user=user).reputation == 1
    assert Profile.objects.filter(user=user).count() == 1


def test_bot_user_is_created_once_with_an_unusable_password(db):
    bot = services.bot_user_get()
    assert services.bot_user_get().pk == bot.pk
    assert bot.username == "gradient-doctor" and bot.profile.is_bot
    assert not bot.has_usable_password()


def test_reputation_change_adds_and_never_goes_below_one(db):
    user = services.user_create(username="ada", email="ada@example.com", password=PASSWORD)
    assert services.reputation_change(user=user, delta=15, reason="accepted") == 16
    assert services.reputation_change(user=user, delta=-100, reason="downvotes") == 1


def test_signup_logs_in_and_returns_to_next(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": "/questions/ask/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/questions/ask/"
    assert client.get("/questions/ask/").status_code == 200


def test_signup_refuses_an_external_next(client, db):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert response["Location"] == "/"


def test_signup_errors_are_shown(client, db):
    response = client.post(
        "/accounts/signup/",
        {"username": "x", "email": "bad", "password1": PASSWORD, "password2": "other"},
    )
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()


def test_signup_rate_limit_per_ip(client, db, monkeypatch):
    monkeypatch.setattr(views, "RATE_SIGNUP_IP", (1, 3600))
    data = {"email": "", "password1": PASSWORD, "password2": PASSWORD}
    first = client.post("/accounts/signup/", {**data, "username": "one", "email": "1@example.com"})
    assert first.status_code == 302
    client.logout()
    second = client.post("/accounts/signup/", {**data, "username": "two", "email": "2@example.com"})
    assert second.status_code == 429 and "Retry-After" in second
    assert not User.objects.filter(username="two").exists()


def test_login_and_back_then_logout_by_post(client, db):
    services.user_create(username="ada", email="ada@example.com", password=PASSWORD)
    response = client.post(
        "/accounts/login/", {"username": "ada", "password": PASSWORD, "next": "/questions/"}
    )
    assert response.status_code == 302 and response["Location"] == "/questions/"
    assert client.get("/accounts/logout/").status_code == 405  # GET never logs out
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/questions/ask/").status_code == 302


def test_login_attempts_are_rate_limited_per_username(client, db, monkeypatch):
    monkeypatch.setattr(views, "RATE_LOGIN_USERNAME", (2, 300))
    services.user_create(username="limited-ada", email="limited@example.com", password=PASSWORD)
    for _ in range(2):
        assert (
            client.post(
                "/accounts/login/", {"username": "limited-ada", "password": "wrong"}
            ).status_code
            == 200
        )
    response = client.post("/accounts/login/", {"username": "LIMITED-ADA", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many login requests" in response.content.decode()


def test_password_reset_sends_an_email(client, db):
    services.user_create(username="ada", email="ada@example.com", password=PASSWORD)
    response = client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/password/reset/" in mail.outbox[0].body


def test_password_change_page_needs_login(client, db):
    response = client.get("/accounts/password/change/")
    assert response.status_code == 302 and "next=/accounts/password/change/" in response["Location"]


def test_password_reset_is_rate_limited_per_ip(client, db, monkeypatch):
    monkeypatch.setattr(views, "RATE_PASSWORD_RESET_IP", (1, 3600))
    services.user_create(username="ada", email="ada@example.com", password=PASSWORD)
    assert client.post("/accounts/password/reset/", {"email": "ada@example.com"}).status_code == 302
    response = client.post("/accounts/password/reset/", {"email": "ada@example.com"})
    assert response.status_code == 429
    assert len(mail.outbox) == 1


def test_profile_edit_saves_the_bio_shown_escaped(client, db):
    user = services.user_create(username="ada", email="ada@example.com", password=PASSWORD)
    assert client.get("/accounts/profile/").status_code == 302
    client.force_login(user)
    response = client.post("/accounts/profile/", {"bio": "I debug <b>optimisers</b>."})
    assert response.status_code == 302
    page = client.get("/users/ada/").content.decode()
    assert "I debug &lt;b&gt;optimisers&lt;/b&gt;." in page
    assert client.post("/accounts/profile/", {"bio": "x" * 2001}).status_code == 400


def _signup(client, *, username: str, email: str):
    data = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    return client.post("/accounts/signup/", data)


def test_signup_with_a_registered_email_looks_like_any_signup_and_tells_the_holder(
    client, db, django_capture_on_commit_callbacks
):
    """No account enumeration: as with password reset, the page does not say whether an
    address is registered; the holder hears about the attempt by e-mail instead."""
    services.user_create(username="ada", email="ada@example.com", password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        fresh = _signup(client, username="fresh-one", email="fresh@example.com")
    assert mail.outbox == []
    client.post("/accounts/logout/")
    with django_capture_on_commit_callbacks(execute=True):
        taken = _signup(client, username="squatter", email="ADA@example.com")
    assert (
        (taken.status_code, taken["Location"])
        == (fresh.status_code, fresh["Location"])
        == (
            302,
            "/",
        )
    )
    assert client.get("/questions/ask/").status_code == 200  # signed in, as a fresh signup is
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1
    assert User.objects.get(username="squatter").email == ""
    (notice,) = mail.outbox
    assert notice.to == ["ada@example.com"] and "password" in notice.body.lower()
