"""Settings for bench/web.py: the real settings, the bench urlconf, quiet logs, DEBUG off."""

import os

os.environ.setdefault("DEBUG", "false")

from hub.settings import *  # noqa: E402, F403
from hub.settings import CACHES, DATABASES, LOGGING  # noqa: E402

ROOT_URLCONF = "bench.urls"
DEBUG = False
# Persistent connections as a production deployment would run them (BENCH_CONN_MAX_AGE=0
# measures a connection per request instead).
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("BENCH_CONN_MAX_AGE", "60"))
CACHES["default"]["KEY_PREFIX"] = "bench"
LOGGING["root"]["level"] = "WARNING"

# BENCH_PAGE_CACHE=1: an experiment, not the site's behaviour — Django's per-site cache
# middleware (anonymous GETs, 30 s) to show the ceiling a response cache would reach.
if os.environ.get("BENCH_PAGE_CACHE") == "1":
    from hub.settings import MIDDLEWARE  # noqa: E402

    MIDDLEWARE = [
        "django.middleware.cache.UpdateCacheMiddleware",
        *MIDDLEWARE,
        "django.middleware.cache.FetchFromCacheMiddleware",
    ]
    CACHE_MIDDLEWARE_SECONDS = 30
    CACHE_MIDDLEWARE_KEY_PREFIX = "bench-page"
