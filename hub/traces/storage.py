"""Where trace files live: local disk (the default) or any S3-compatible store.

``s3_storage_from_url`` turns ``STORAGE_URL`` into the ``STORAGES["default"]`` entry (read by
hub/settings.py, so it imports nothing of the site); ``trace_local_copy`` gives the worker's
sandbox a private local file of a stored trace, whatever the backend.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, unquote, urlsplit

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "storages.backends.s3.S3Storage"
# The query options STORAGE_URL may carry, as django-storages' S3Storage names them.
S3_URL_OPTIONS = ("endpoint_url", "region_name", "addressing_style", "signature_version")
# An upload waits for a store out of reach this long at most (seconds per try, tries), then
# the site answers 503; botocore's defaults (60 s to connect, 5 tries) would hold a web worker.
S3_CONNECT_TIMEOUT_SECONDS = 5
S3_READ_TIMEOUT_SECONDS = 30
S3_MAX_ATTEMPTS = 3
# What a storage raises when it cannot take or give a file: a full or read-only disk, an S3
# store out of reach or refusing (a missing bucket, denied access).
STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)
# Bytes copied per read when the worker streams a stored trace to its local copy.
COPY_CHUNK_BYTES = 1024 * 1024


def s3_storage_config(
    *,
    bucket: str,
    access_key: str = "",
    secret_key: str = "",
    location: str = "",
    spool_bytes: int = 2 * 1024 * 1024,
    **options: str | None,
) -> dict:
    """The STORAGES entry of a private S3 bucket.

    Objects are private and never served by URL (only the permission-checked download view
    reads them), so URLs need no signature; an upload never overwrites another's object; a
    read spools to disk past ``spool_bytes`` instead of holding a whole trace in memory.
    Empty credentials leave boto3 its own chain (instance role, ~/.aws, its environment).
    """
    return {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": bucket,
            "location": location.strip("/"),
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "default_acl": "private",
            "querystring_auth": False,
            "file_overwrite": False,
            "max_memory_size": spool_bytes,
            **{name: options.get(name) or None for name in S3_URL_OPTIONS},
            # django-storages builds its client config from the two options below unless given
            # one, so this one carries them as well as the bounded waits.
            "client_config": Config(
                s3={"addressing_style": options.get("addressing_style") or None},
                signature_version=options.get("signature_version") or None,
                connect_timeout=S3_CONNECT_TIMEOUT_SECONDS,
                read_timeout=S3_READ_TIMEOUT_SECONDS,
                retries={"max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"},
            ),
        },
    }


def s3_storage_from_url(
    url: str, *, access_key: str = "", secret_key: str = "", spool_bytes: int = 2 * 1024 * 1024
) -> dict:
    """``s3://BUCKET[/PREFIX]?endpoint_url=...&region_name=...`` -> the STORAGES entry.

    Credentials come from the arguments (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), never
    from the URL, so a logged or displayed STORAGE_URL gives no secret away.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise ImproperlyConfigured("STORAGE_URL must look like s3://BUCKET?endpoint_url=...")
    if "@" in parts.netloc:
        raise ImproperlyConfigured(
            "STORAGE_URL must not hold credentials: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY in the environment instead."
        )
    if not parts.hostname:
        raise ImproperlyConfigured("STORAGE_URL names no bucket: s3://BUCKET?...")
    options = dict(parse_qsl(parts.query))
    unknown = sorted(set(options) - set(S3_URL_OPTIONS))
    if unknown:
        raise ImproperlyConfigured(
            f"STORAGE_URL has unknown options {unknown}; known: {list(S3_URL_OPTIONS)}."
        )
    return s3_storage_config(
        bucket=parts.netloc,
        location=unquote(parts.path),
        access_key=access_key,
        secret_key=secret_key,
        spool_bytes=spool_bytes,
        **options,
    )


@contextmanager
def trace_local_copy(stored_file, *, max_bytes: int) -> Iterator[str]:
    """A private local copy of a stored trace file, deleted on exit; yields its path.

    Streamed in chunks through the storage API (local disk and S3 alike) and bounded: past
    ``max_bytes`` the copy stops one byte over, so the loader refuses it as too large without
    the worker writing an unbounded file. A missing file raises FileNotFoundError.
    """
    fd, path = tempfile.mkstemp(prefix="gradhub-trace-", suffix=".trace")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as target, stored_file.storage.open(stored_file.name) as source:
            _copy_bounded(source, target, limit=max_bytes + 1)
        yield path
    finally:
        os.unlink(path)


def _copy_bounded(source, target, *, limit: int) -> None:
    remaining = limit
    while remaining > 0:
        chunk = source.read(min(COPY_CHUNK_BYTES, remaining))
        if not chunk:
            return
        target.write(chunk)
        remaining -= len(chunk)
