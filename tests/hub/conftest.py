"""Fixtures shared by the community apps' tests."""

import itertools

import pytest

from hub.accounts.services import user_create

_numbers = itertools.count(1)


@pytest.fixture
def make_user(db):
    """make_user(username=None, **fields) creates a member through the sign-up service."""

    def make(username: str | None = None, **extra):
        name = username or f"member{next(_numbers)}"
        user = user_create(username=name, email=f"{name}@example.com", password="correct horse 9")
        for field, value in extra.items():
            setattr(user, field, value)
        if extra:
            user.save()
        return user

    return make


@pytest.fixture(autouse=True)
def _no_pages_cached_by_earlier_tests():
    """Forget the cached question lists: an earlier test's rows were rolled back, which no
    write service saw, so its cached pages would show rows this test does not have. (Question
    pages need nothing: their ids are never reused within a run.)"""
    from django.core.cache import cache

    from hub.forum.page_cache import LIST_VERSION_KEY

    cache.delete(LIST_VERSION_KEY)
