"""Fixtures shared by the community apps' tests."""

import itertools

import pytest

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_pages_cached_by_earlier_tests():
    """Forget the cached question lists: an earlier test's rows were rolled back, which no
    write service saw, so its cached pages would show rows this test does not have. (Question
    pages need nothing: their ids are never reused within a run.)"""
    from django.core.cache import cache

    from hub.forum.page_cache import LIST_VERSION_KEY

    cache.delete(LIST_VERSION_KEY)


@pytest.fixture
def storage_refusing_writes(settings, tmp_path):
    """Trace storage that cannot write: a regular file stands where MEDIA_ROOT's directory
    should be, so every save fails in the operating system, as on a full or read-only disk
    (a chmod would not stop the tests, which may run as root)."""
    blocker = tmp_path / "media"
    blocker.write_bytes(b"")
    settings.MEDIA_ROOT = str(blocker)
    return blocker
