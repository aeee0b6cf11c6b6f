"""Sessions live in Redis with the database behind them (cached_db), and the Redis copy is kept
only a few minutes: a logout while Redis was down deletes the database row alone, and the copy
must not outlive it for the rest of the session's age."""

import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.utils.module_loading import import_string

from hub.accounts import sessions
from tests.factories import user_make

pytestmark = pytest.mark.django_db


def _store(client):
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return import_string(f"{settings.SESSION_ENGINE}.SessionStore")(key)


def _cached_seconds(store) -> int:
    cache = caches[settings.SESSION_CACHE_ALIAS]
    return cache._cache.get_client(store.cache_key).ttl(
        cache.make_and_validate_key(store.cache_key)
    )


def test_the_redis_copy_of_a_session_is_kept_minutes_not_the_session_age(client):
    assert settings.SESSION_ENGINE == "hub.accounts.sessions"
    client.force_login(user_make(prefix="member"))
    store = _store(client)
    assert 0 < _cached_seconds(store) <= sessions.SESSION_CACHE_SECONDS
    assert settings.SESSION_COOKIE_AGE > sessions.SESSION_CACHE_SECONDS  # the cookie lives on


def test_a_session_ended_in_the_database_alone_ends_once_its_redis_copy_lapses(client, monkeypatch):
    monkeypatch.setattr(sessions, "SESSION_CACHE_SECONDS", 1)
    user = user_make(prefix="member")
    client.force_login(user)
    store = _store(client)
    store.save()  # the copy in Redis, kept one second
    Session.objects.filter(session_key=store.session_key).delete()  # a logout Redis missed
    time.sleep(1.5)
    assert client.get("/settings/tokens/").status_code == 302  # to the log-in page
    assert _store(client).load() == {}
