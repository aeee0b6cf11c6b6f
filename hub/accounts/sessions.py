"""Sessions read from Redis and written through to the database (Django's cached_db), with
the Redis copy kept at most SESSION_CACHE_SECONDS instead of the session's whole age.

A logout while Redis is down deletes the database row only (the cache drops its writes while
Redis is away, hub.core.cache); without a bound, the copy Redis kept would let that session's
cookie in for weeks once Redis is back. A member's layer (hub.forum.page_cache) reads the same
copy, so the bound also limits how long it can be served from Redis alone."""

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

SESSION_CACHE_SECONDS = 300


class SessionStore(cached_db.SessionStore):
    def _cache_seconds(self, **kwargs) -> int:
        return min(self.get_expiry_age(**kwargs), SESSION_CACHE_SECONDS)

    def load(self):
        # cached_db's load, with the copy's lifetime bounded
        data = self._cache.get(self.cache_key)
        if data is not None:
            return data
        row = self._get_session_from_db()
        if not row:
            return {}
        data = self.decode(row.session_data)
        self._cache.set(self.cache_key, data, self._cache_seconds(expiry=row.expire_date))
        return data

    def save(self, must_create=False):
        DatabaseSessionStore.save(self, must_create)
        self._cache.set(self.cache_key, self._session, self._cache_seconds())
