"""A member's version: a random token in the shared cache (Redis) that changes whenever
something only they see changes without any page's version changing: their notifications
(the header's unread count), what they follow, their account itself (name, password, groups,
deletion). The forum keeps each member's part of a page (hub.forum.page_cache) under it.

Bumped at once, so the member's next read misses, and again on commit, because a request may
have read the old state before the commit and stored its part under the first bump.
"""

import secrets

from django.core.cache import cache
from django.db import transaction

MEMBER_VERSION_SECONDS = 24 * 3600  # outlives every part stored under it


def member_version_key(user_id: int) -> str:
    return f"member:v:{user_id}"


def member_version_bump(*, user_id: int) -> None:
    key = member_version_key(user_id)
    cache.set(key, secrets.token_hex(8), MEMBER_VERSION_SECONDS)
    transaction.on_commit(lambda: cache.set(key, secrets.token_hex(8), MEMBER_VERSION_SECONDS))
