"""The forum's pages, rendered once per version for everyone and served from the cache.

Versions. Each question page has a version, and everything that shows question rows (the
lists, tag pages, search results) shares one; they are random tokens in the shared cache
(Redis). Every write service bumps the versions of what it changes through pages_invalidate:
at once, so that the writer's next read (and a test, whose transaction never commits) misses,
and again on commit, because a reader may have rendered the rows as they were before the
commit and stored that page under the first bump.

Pages. A page is kept in each process's memory with the version it was rendered for, and
served while that version is current: one small read from Redis per request. Fetching a busy
question page (200 KiB) from Redis cost more than everything else on a hit, and the version
keeps each process's copy exactly as fresh as a shared copy would be. PAGE_SECONDS bounds
what no write bumps (view counts, reputation, "N online", trace states).

Who gets the shared page. It is rendered as a visitor who is not logged in sees it (no CSRF
token, no member's controls), and served for its canonical URL, with no message pending, to
- visitors who are not logged in, and
- members who are not moderators (moderators see hidden posts) and whose browser runs
  forum.js (it sets the cookie gh_js): forum.js asks /me/layer/ (views/layer.py) for what
  differs for them (header, votes, controls, forms, follow state) and puts it in place.
Everyone else gets the page rendered for them alone, by the same view and templates.

Serving a hit. SharedPageMiddleware answers before sessions, authentication and CSRF run:
cookies tell it enough. The hint cookie gh_member (set here from the real role whenever a
page is rendered) grants nothing: the shared page is the anonymous one, the layer and every
write check the real user. A miss goes to the view, which renders through SharedPage. The
page goes to a member with <html class="member-pending">: the visitor's header stays hidden
until the layer fills it (no flash of "Log in"). A message kept in the session (one too big
for its cookie) waits for the next page rendered for its reader.

The member layer. Its part that is the same for every member on a version of a question page
is kept like the pages (shared_markup). Each member's own parts (their header; on a question
page their votes, controls and follow state) are kept in Redis under their version
(hub.accounts.member_version) and, for a question, the page's version, with the session's
auth hash they were rendered for. When all the parts are current, the middleware puts them at
the end of the member's shared page (a <template id="member-layer">, with Cache-Control:
private), found in the same read as the page's version: one read from Redis brings the
session (cached_db sessions), the versions and the parts (each process remembers which user a
session held, to name the member's keys; the session read must still name them), with no
database work. Otherwise the page comes without them and forum.js asks /me/layer/, which the
middleware answers the same way, or (no part yet, a version moved, another session hash, a
moderator, no CSRF cookie yet) the layer's view, which checks the real user and renders and
stores the parts.

Without a cache every process shares (the embedded run's local memory: a worker's write would
never reach the web process) or while Redis is down (hub.core.cache), nothing is cached.
"""

import copy
import hashlib
import re
import secrets
from importlib import import_module
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from hub.accounts.member_version import member_version_key
from hub.accounts.selectors import user_is_moderator
from hub.core.cache import redis_available
from hub.core.middleware import visitor_id
from hub.core.presence import presence_touch
from hub.core.web import client_ip

PAGE_SECONDS = 10  # what no write bumps may lag this much: still "live" for a reader
# A version outlives every page stored under it; one that expired is replaced by a new token.
VERSION_SECONDS = 24 * 3600
LIST_VERSION_KEY = "forum:pv:list"
VIEW_DEDUP_SECONDS = 3600  # a person re-reading a question within an hour counts once
JS_COOKIE = "gh_js"  # set by forum.js: this browser applies the member layer
MEMBER_COOKIE = "gh_member"  # "1": a member who may get shared pages; "moderator": may not
MEMBER_COOKIE_SECONDS = 30 * 24 * 3600
# A member's parts of the layer: what no bump reaches (a bump lost while Redis was down, the
# asker's trace states are never kept) lags at most this much.
MEMBER_PART_SECONDS = 600
_HTML_TAG = b'<html lang="en">'  # base.html's
LAYER_PATH_RE = re.compile(r"/me/layer/(?:questions/(\d+)/)?")
# The query parameters shared pages may have (each page names its own), with their rules.
_QUERY_RULES = {
    "sort": lambda value: value in ("newest", "active", "top", "unanswered"),
    "page": lambda value: value.isdigit() and len(value) <= 6,
    "q": lambda value: 0 < len(value) <= 200,
}
# This process's pages, least recently used out first: the lists' first pages, the busiest
# questions (20–200 KiB each), the frequent searches.
_pages = LocMemCache("forum-pages", {"TIMEOUT": PAGE_SECONDS, "OPTIONS": {"MAX_ENTRIES": 200}})
# The user each session held when this process last read it: the layer then reads the session
# with the member's parts in one round trip, and is served only if the session still agrees.
_session_users: dict[str, int] = {}
SESSION_USERS_MAX = 10_000


def question_version_key(question_id: int) -> str:
    return f"forum:pv:q:{question_id}"


def view_key(*, question_id: int, who) -> str:
    return f"qview:{question_id}:{who}"


def view_count(request, question_id: int) -> None:
    """Count a view of the question, once an hour per member (or per address)."""
    who = request.user.pk if request.user.is_authenticated else client_ip(request)
    _view_count_of(question_id=question_id, who=who)


def _view_count_of(*, question_id: int, who) -> None:
    from .services import question_view_count  # here: the services import this module

    if cache.add(view_key(question_id=question_id, who=who), 1, timeout=VIEW_DEDUP_SECONDS):
        question_view_count(question_id=question_id)


def _page_key(request) -> str:
    return "forum:page:" + hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]


def _shared_cache() -> bool:
    return redis_available() and not isinstance(caches["default"], LocMemCache)


def _canonical(request, params) -> bool:
    """Only the page's own parameters (`params`) with valid values: junk query strings must
    not fill the cache with copies of a page."""
    for name, values in request.GET.lists():
        if name not in params or len(values) != 1 or not _QUERY_RULES[name](values[0]):
            return False
    return True


class SharedPageMiddleware:
    """Serve a shared page (with a member's layer in it), or a member layer, that is current,
    before the session and the user are loaded."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET" and (match := LAYER_PATH_RE.fullmatch(request.path_info)):
            layer = _member_layer(request, question_id=int(match[1]) if match[1] else None)
            if layer.parts is not None:
                return layer_document(layer.parts)
        elif request.method in ("GET", "HEAD") and (role := self._role(request.COOKIES)):
            stored = _pages.get(_page_key(request))
            if stored is not None and _shared_cache():
                version_key, version, content, question_id = stored
                if role == "member":
                    return self._member_page(request, stored)
                visitor_view = None
                if question_id is not None:
                    visitor_view = view_key(question_id=question_id, who=client_ip(request))
                found = cache.get_many([version_key] + ([visitor_view] if visitor_view else []))
                if found.get(version_key) == version:
                    request.user = AnonymousUser()
                    presence_touch(visitor=visitor_id(request))
                    if visitor_view and visitor_view not in found:
                        view_count(request, question_id)
                    response = HttpResponse(content)
                    patch_vary_headers(response, ("Cookie",))  # as the page rendered for them
                    return response
        return self.get_response(request)

    def _member_page(self, request, stored):
        """The shared page for a member, with their layer in it when all of it is kept (in
        the same read as the page's version); else forum.js asks /me/layer/ for it."""
        version_key, version, content, question_id = stored
        layer = MemberLayer(parts=None, found=None)
        if request.method == "GET":
            layer = _member_layer(request, question_id=question_id, also=(version_key,))
        found = cache.get_many([version_key]) if layer.found is None else layer.found
        if found.get(version_key) != version:
            return self.get_response(request)
        response = HttpResponse(member_pending(content, layer=layer.parts))
        patch_vary_headers(response, ("Cookie",))  # as the page rendered for them
        if layer.parts is not None:
            response["Cache-Control"] = "private"  # the member's own parts are in it
        return response

    @staticmethod
    def _role(cookies) -> str | None:
        """ "visitor" or "member" when the cookies say the shared page is what they get."""
        if "messages" in cookies:
            return None
        if settings.SESSION_COOKIE_NAME not in cookies:
            return None if MEMBER_COOKIE in cookies else "visitor"
        if cookies.get(MEMBER_COOKIE) == "1" and JS_COOKIE in cookies:
            return "member"
        return None


class SharedPage:
    """One page request: `shared` when the page rendered for an anonymous visitor is the one
    this person gets (then `request` is that visitor's stand-in), and render() to answer."""

    def __init__(
        self,
        request,
        *,
        question_id: int | None = None,
        params: tuple[str, ...] = (),
        shareable: bool = True,
    ):
        self.question_id = question_id
        key = question_version_key(question_id) if question_id is not None else LIST_VERSION_KEY
        self.version_key = key
        self.original = request
        self.request = request
        self.shared = shareable and _canonical(request, params) and self._gets_shared_pages(request)
        self.version = None
        if self.shared and _shared_cache():
            # Read before rendering: a write meanwhile makes this version stale, not the page.
            self.version = _version_to_store(self.version_key)
        if self.shared:
            self.request = copy.copy(request)
            self.request.user = AnonymousUser()
            self.request._messages = []  # none is pending (checked above)

    @staticmethod
    def _gets_shared_pages(request) -> bool:
        user = request.user
        if len(get_messages(request)):
            return False
        if not user.is_authenticated:
            return True
        return JS_COOKIE in request.COOKIES and not user_is_moderator(user=user)

    def render(self, template: str, context: dict):
        response = render(self.request, template, context)
        if self.version is not None and response.status_code == 200:
            self._store(response)
        if self.shared and self.original.user.is_authenticated and response.status_code == 200:
            response.content = member_pending(response.content)
        return member_hint(self.original, response)

    def _store(self, response) -> None:
        # A page that asked for a CSRF token holds one: never share it.
        if self.original.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            return
        stored = (self.version_key, self.version, response.content, self.question_id)
        _pages.set(_page_key(self.original), stored, PAGE_SECONDS)


def member_part_key(*, user_id: int, question_id: int | None) -> str:
    """A member's part of the layer: their header (`question_id` None) or their own part of
    a question page."""
    return f"forum:layer:{user_id}:{'nav' if question_id is None else question_id}"


def member_part_versions(*, user_id: int, question_id: int | None) -> tuple | None:
    """The versions to store a member's part under, read before it is rendered (as for
    pages); None when a racing request set one first (then nothing is stored)."""
    keys = [member_version_key(user_id)]
    if question_id is not None:
        keys.append(question_version_key(question_id))
    versions = tuple(_version_to_store(key) for key in keys)
    return None if None in versions or not _shared_cache() else versions


def member_part_store(*, user_id, question_id, versions, auth_hash: str, markup: bytes) -> None:
    """Keep a member's part, with the session auth hash it was rendered for."""
    if versions is not None:
        key = member_part_key(user_id=user_id, question_id=question_id)
        cache.set(key, (versions, auth_hash, markup), MEMBER_PART_SECONDS)


def layer_document(parts: list[bytes]) -> HttpResponse:
    """The member layer as forum.js reads it: each part's <template>s in order. Its forms carry
    no CSRF token: forum.js gives them the one in the CSRF cookie (as Django's docs do for
    JavaScript), which the layer's view sets if it is missing."""
    response = HttpResponse(b"\n".join(parts))
    response["Cache-Control"] = "private, no-store"
    patch_vary_headers(response, ("Cookie",))
    return response


class MemberLayer(NamedTuple):
    parts: list[bytes] | None  # the layer's parts, when every one is current for the session
    found: dict | None  # what the read found (with the keys asked `also`); None: no read


def _member_layer(request, *, question_id: int | None, also=()) -> MemberLayer:
    """The member layer from its kept parts, when every one is current for this session, in
    one read from Redis with the keys `also`; counts the member's view and presence then."""
    cookies = request.COOKIES
    missing = MemberLayer(parts=None, found=None)
    if cookies.get(MEMBER_COOKIE) != "1" or not _shared_cache():
        return missing
    if settings.SESSION_COOKIE_NAME not in cookies or settings.CSRF_COOKIE_NAME not in cookies:
        return missing  # (the view sets the CSRF cookie forum.js reads)
    session_key = cookies[settings.SESSION_COOKIE_NAME]
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    if store.session_key is None:  # not a session key at all
        return missing
    user_id = _session_users.get(session_key)
    if user_id is None:  # the first layer of this session here: read it first
        user_id = store.get(SESSION_KEY)
        if user_id is None:
            return missing
        if len(_session_users) >= SESSION_USERS_MAX:
            _session_users.clear()
        user_id = _session_users[session_key] = int(user_id)
    member_version = member_version_key(user_id)
    nav = member_part_key(user_id=user_id, question_id=None)
    keys = [*also, store.cache_key, member_version, nav]  # the session as cached_db keeps it
    if question_id is not None:
        page_version = question_version_key(question_id)
        own = member_part_key(user_id=user_id, question_id=question_id)
        seen = view_key(question_id=question_id, who=user_id)
        keys += [page_version, own, seen]
    found = cache.get_many(list(dict.fromkeys(keys)))  # (a question page's version is `also`)
    session = found.get(store.cache_key) or {}
    if session.get(SESSION_KEY) != str(user_id):  # ended, or another user's now
        _session_users.pop(session_key, None)
        return MemberLayer(parts=None, found=found)
    if session.get(BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS:
        return MemberLayer(parts=None, found=found)
    auth_hash = session.get(HASH_SESSION_KEY)

    def current(key: str, versions: tuple) -> bytes | None:
        stored = found.get(key)
        fits = stored is not None and stored[0] == versions and stored[1] == auth_hash
        return stored[2] if fits else None

    parts = [current(nav, (found.get(member_version),))]
    if question_id is not None:  # (never the asker's: their own part is not kept)
        versions = (found.get(member_version), found.get(page_version))
        shared = _pages.get(shared_markup_key(question_id=question_id, name="member"))
        parts.append(shared[2] if shared is not None and shared[1] == versions[1] else None)
        parts.append(current(own, versions))
    if None in parts:
        return MemberLayer(parts=None, found=found)
    if question_id is not None and seen not in found:
        _view_count_of(question_id=question_id, who=user_id)
    presence_touch(visitor=f"u:{user_id}")
    return MemberLayer(parts=parts, found=found)


def member_pending(content: bytes, *, layer: list[bytes] | None = None) -> bytes:
    """The shared page as a member gets it: its <html> marked so that the visitor's account
    links stay hidden (theme.css) until forum.js has put the member's header in their place;
    with their `layer`, when it is kept, at the end of its <body> (forum.js applies it there
    instead of asking /me/layer/ for it). One copy of the page: a busy page is 200 KiB."""
    at = content.find(_HTML_TAG)
    if at < 0:
        return content
    start = at + len(_HTML_TAG) - 1  # at its ">"
    end = content.rfind(b"</body>") if layer is not None else -1
    inline = []
    if end < 0:
        end = len(content)
    else:
        inline = [b'<template id="member-layer">', b"\n".join(layer), b"</template>\n"]
    page = memoryview(content)
    return b"".join(
        [page[:start], b' class="member-pending"', page[start:end], *inline, page[end:]]
    )


def _version_to_store(version_key: str) -> str | None:
    """The current version, or a new one if there is none (or it expired); None when a racing
    request set its own first (then nothing is stored)."""
    version = cache.get(version_key)
    if version is None:
        token = secrets.token_hex(8)
        version = token if cache.add(version_key, token, VERSION_SECONDS) else None
    return version


def shared_markup_key(*, question_id: int, name: str) -> str:
    return f"forum:part:{question_id}:{name}"


def shared_markup(*, question_id: int, name: str, render_markup) -> bytes:
    """Markup that is the same for every member on this version of the question page (the
    member layer's shared part: no CSRF token, no personal state), kept like the pages but as
    long as a member's parts (it shows nothing that changes unbumped)."""
    key = shared_markup_key(question_id=question_id, name=name)
    version_key = question_version_key(question_id)
    if not _shared_cache():
        return render_markup().encode()
    version = _version_to_store(version_key)  # before rendering, as for pages
    stored = _pages.get(key)
    if stored is not None and stored[1] == version:
        return stored[2]
    markup = render_markup().encode()
    if version is not None:
        _pages.set(key, (version_key, version, markup, question_id), MEMBER_PART_SECONDS)
    return markup


def member_hint(request, response):
    """Keep the gh_member hint in step with who is logged in."""
    user = request.user
    hint = None
    if user.is_authenticated:
        hint = "moderator" if user_is_moderator(user=user) else "1"
    if hint is None and MEMBER_COOKIE in request.COOKIES:
        response.delete_cookie(MEMBER_COOKIE)
    elif hint is not None and request.COOKIES.get(MEMBER_COOKIE) != hint:
        response.set_cookie(
            MEMBER_COOKIE,
            hint,
            max_age=MEMBER_COOKIE_SECONDS,
            secure=settings.SESSION_COOKIE_SECURE,
            samesite="Lax",
        )  # read by forum.js: not HttpOnly, and it holds nothing secret
    return response


def _versions_bump(keys: list[str]) -> None:
    cache.set_many({key: secrets.token_hex(8) for key in keys}, VERSION_SECONDS)


def pages_invalidate(*, question_id: int | None = None) -> None:
    """Make the pages showing question rows (and this question's page) stale: now and on
    commit."""
    keys = [LIST_VERSION_KEY]
    if question_id is not None:
        keys.append(question_version_key(question_id))
    _versions_bump(keys)
    transaction.on_commit(lambda: _versions_bump(keys))
