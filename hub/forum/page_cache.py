"""Whole pages for cookieless anonymous visitors, checked against versions kept in the cache.

A page is kept with the version of what it shows (the question lists share one version, each
question page has its own), so a hit costs one small cache round trip and no query. The pages
themselves stay in each process's memory: fetching a busy question page (200 KiB) from Redis
cost more than everything else on a hit, and the versions, read from the shared cache on every
request, keep each process's copies exactly as fresh as a shared copy would be. The write
services bump the versions of what they change through pages_invalidate: at once, so that the
writer's next read (and a test, whose transaction never commits) misses, and again when the
transaction commits, because a reader may have rendered the rows as they were before the
commit and stored that page under the first bump.

Versions only work in a cache every process shares: with a per-process cache (the embedded
run's local memory) a worker's write would never reach the web process, so no page is cached;
nor while Redis is down (hub.core.cache): without versions, pages are rendered afresh.
"""

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.http import HttpResponse

from hub.core.cache import redis_available

from . import selectors

# The lifetime bounds what a page shows that no forum write bumps: the footer's "N online",
# view counts, authors' reputation, trace cards. Ours: ten seconds behind is still "live".
PAGE_SECONDS = 10
# A version outlives every page stored under it; one that expired is replaced by a new token,
# which no stored page carries.
VERSION_SECONDS = 24 * 3600
LIST_VERSION_KEY = "forum:pv:list"
# This process's pages: Django's local-memory cache, least recently used out first. The hot set
# is the lists' first pages and the busiest questions (20–200 KiB each).
_pages = LocMemCache("forum-pages", {"TIMEOUT": PAGE_SECONDS, "OPTIONS": {"MAX_ENTRIES": 100}})


def _question_version_key(question_id: int) -> str:
    return f"forum:pv:q:{question_id}"


def _shared_cache() -> bool:
    return redis_available() and not isinstance(caches["default"], LocMemCache)


def _canonical_query(request) -> bool:
    """Only the list's own parameters with valid values: junk query strings must not fill
    the cache with copies of a page."""
    for name, values in request.GET.lists():
        if len(values) != 1:
            return False
        if name == "sort" and values[0] in selectors.SORTS:
            continue
        if name == "page" and values[0].isdigit() and len(values[0]) <= 6:
            continue
        return False
    return True


class CachedPage:
    """The cache slot of one anonymous page: `response` on a hit, else `store()` it later.
    Keys in `also` are read in the same round trip; those present land in `found`."""

    def __init__(self, request, *, question_id: int | None = None, also=()):
        self.request = request
        self.key = self.version_key = self.version = None
        self.response = None
        self.found = {}
        if not (_shared_cache() and self._shareable(request)):
            return
        digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
        self.key = f"forum:page:{digest}"
        if question_id is None:
            self.version_key = LIST_VERSION_KEY
        else:
            self.version_key = _question_version_key(question_id)
        self.found = cache.get_many([self.version_key, *also])
        self.version = self.found.get(self.version_key)
        stored = _pages.get(self.key)
        if self.version is None:
            # None yet (or expired): a new token; a racing request may set its own first.
            token = secrets.token_hex(8)
            self.version = token if cache.add(self.version_key, token, VERSION_SECONDS) else None
        elif stored is not None and stored[0] == self.version:
            self.response = HttpResponse(stored[1])

    @staticmethod
    def _shareable(request) -> bool:
        """A cookieless anonymous visitor (a session or a pending message makes a page
        personal) asking with a canonical query string."""
        if request.user.is_authenticated:
            return False
        if settings.SESSION_COOKIE_NAME in request.COOKIES or "messages" in request.COOKIES:
            return False
        return _canonical_query(request)

    def store(self, response):
        # A page that asked for a CSRF token holds one: never share it.
        if (
            self.version is not None
            and response.status_code == 200
            and not self.request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        ):
            _pages.set(self.key, (self.version, response.content), PAGE_SECONDS)
        return response


class CachedPart:
    """Markup that is the same for every member who is not a moderator (the question list's
    main content: rows, counts, tabs and pages; nothing personal, no CSRF token), kept in this
    process like the anonymous pages, against the lists' version, with the page around it
    rendered for each member. `markup` on a hit, else `store()` it later."""

    def __init__(self, request, *, name: str):
        self.key = self.version = self.markup = None
        if not (_shared_cache() and _canonical_query(request)):
            return
        digest = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
        self.key = f"forum:part:{name}:{digest}"
        self.version = cache.get(LIST_VERSION_KEY)
        stored = _pages.get(self.key)
        if self.version is None:
            token = secrets.token_hex(8)
            self.version = token if cache.add(LIST_VERSION_KEY, token, VERSION_SECONDS) else None
        elif stored is not None and stored[0] == self.version:
            self.markup = stored[1]

    def store(self, markup: str) -> str:
        if self.version is not None:
            _pages.set(self.key, (self.version, markup), PAGE_SECONDS)
        return markup


def _versions_bump(keys: list[str]) -> None:
    cache.set_many({key: secrets.token_hex(8) for key in keys}, VERSION_SECONDS)


def pages_invalidate(*, question_id: int | None = None) -> None:
    """Make the cached question lists (and this question's page) stale: now and on commit."""
    keys = [LIST_VERSION_KEY]
    if question_id is not None:
        keys.append(_question_version_key(question_id))
    _versions_bump(keys)
    transaction.on_commit(lambda: _versions_bump(keys))
