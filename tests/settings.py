"""Settings for the test suite: the real PostgreSQL and Redis, isolated per test run.

Every pytest run gets its own test database, Celery queue and cache prefix (keyed by
GRADHUB_TEST_RUN_ID, inherited by the worker processes the tests start), so two runs on one
machine never see each other's rows, tasks or rate-limit counters.
"""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gradhub")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = os.environ.setdefault("GRADHUB_TEST_RUN_ID", str(os.getpid()))
os.environ.setdefault("CELERY_QUEUE", f"gradhub-test-{RUN_ID}")
os.environ.setdefault("TRACE_REPLAY_STEPS", "40")  # short replays: the worker tests wait for them
os.environ.setdefault(
    "MEDIA_ROOT", os.path.join(tempfile.gettempdir(), f"gradhub-test-media-{RUN_ID}")
)

from hub.settings import *  # noqa: E402, F403
from hub.settings import CACHES, DATABASES  # noqa: E402

DATABASES["default"]["TEST"] = {"NAME": f"test_gradhub_{RUN_ID}"}
CACHES["default"]["KEY_PREFIX"] = f"test-{RUN_ID}"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
