"""Writes for uploaded traces in the request: upload, attach, state changes, failure.

The request does quick checks only (size, container header) and queues the diagnosis; the
worker's side is ``hub.traces.diagnosis``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from hub.core.ratelimit import rate_limit
from hub.core.uploads import StorageUnavailable, upload_too_large_message
from hub.forum.models import Question
from hub.forum.services import question_create
from hub.traces import queue
from hub.traces.models import ORIGINAL_NAME_MAX_LENGTH, Trace, TraceRankFile
from hub.traces.storage import STORAGE_ERRORS
from traces import format as trace_format

logger = logging.getLogger(__name__)
User = get_user_model()

# Bytes read for the quick header check in the request (traces/format.py: 16-byte header).
HEADER_PEEK_BYTES = 64
# Other ranks' files uploaded with one trace: a 64-process run. (Ours: a bound on one request.)
MAX_RANK_FILES = 63


def trace_header_check(*, head: bytes) -> None:
    """The quick check of the container header in the request: magic, version, flags."""
    try:
        trace_format.check_header(head)
    except trace_format.TraceFormatError as exc:
        raise ValidationError(f"This is not a trace file we can read: {exc}.") from exc


class _HashingFile(File):
    """Hashes and counts the bytes as storage reads them, and stops at the size limit.

    At ``read``, which every backend ends in: local disk reads through ``chunks``, S3 reads
    directly. A backend that seeks back and reads again is hashed once per byte."""

    def __init__(self, file, *, name: str, max_bytes: int):
        super().__init__(file, name=name)
        self.hasher = hashlib.sha256()
        self.bytes_read = 0
        self.max_bytes = max_bytes

    def read(self, size=-1):
        start = self.file.tell()
        data = self.file.read(size)
        end = start + len(data)
        if end > self.bytes_read:
            if start > self.bytes_read:
                raise ValueError("The upload was read with a gap; it cannot be hashed.")
            self.hasher.update(data[self.bytes_read - start :])
            self.bytes_read = end
            if self.bytes_read > self.max_bytes:
                raise ValidationError(upload_too_large_message(self.max_bytes))
        return data


def trace_state_set(trace: Trace, state: str, *, reason: str = "") -> None:
    trace.state = state
    trace.failure_reason = reason if state == Trace.State.FAILED else ""
    trace.state_changed_at = timezone.now()
    trace.save(update_fields=["state", "failure_reason", "state_changed_at", "updated_at"])


def trace_upload_limit(*, owner) -> None:
    """Count one upload (a diagnosis it may queue) for `owner`; RateLimited past the hour's limit.

    Keyed by person, not by token or session: a second token must not reset the count."""
    rate_limit(
        scope="trace-upload", key=f"user:{owner.pk}", limit=settings.TRACE_UPLOADS_PER_HOUR,
        period_seconds=3600,
    )  # fmt: skip


def _trace_file_check(uploaded_file, *, limit: int) -> None:
    """The quick checks of one uploaded file in the request: its size and its header."""
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > limit:
        raise ValidationError(upload_too_large_message(limit))
    if size == 0:
        raise ValidationError("The file is empty.")
    uploaded_file.seek(0)
    head = uploaded_file.read(HEADER_PEEK_BYTES)
    uploaded_file.seek(0)
    trace_header_check(head=head)


def _trace_file_store(field, uploaded_file, *, limit: int) -> tuple[str, int]:
    """Write the upload to storage through ``field`` (a FileField of an unsaved row), hashing it
    in the same pass; returns (sha256, bytes)."""
    hashing = _HashingFile(uploaded_file, name=f"{uuid.uuid4().hex}.trace", max_bytes=limit)
    try:
        field.save(hashing.name, hashing, save=False)
    except STORAGE_ERRORS as exc:  # a full disk, S3 out of reach: refuse, keep no partial file
        _partial_file_delete(field.field.generate_filename(field.instance, hashing.name))
        logger.warning("trace storage refused an upload: %s", exc)
        raise StorageUnavailable() from exc
    return hashing.hasher.hexdigest(), hashing.bytes_read


def _original_name(uploaded_file) -> str:
    return os.path.basename(getattr(uploaded_file, "name", "") or "")[:ORIGINAL_NAME_MAX_LENGTH]


def trace_upload(
    *, owner, uploaded_file, question=None, private: bool = False, rank_files=()
) -> Trace:
    """Store an uploaded trace and queue its diagnosis; the same file again reuses the trace.

    ``rank_files``: the other ranks' files of a distributed run (ranks 1, 2, … in this order),
    ``uploaded_file`` being rank 0. They are stored with the trace as evidence; its diagnosis
    compares them with rank 0."""
    if question is not None and question.author_id != owner.pk:
        raise PermissionDenied("Only the person who asked can attach a trace to this question.")
    if question is not None and private:
        raise ValidationError("A trace attached to a question is public; private ones are not.")
    if len(rank_files) > MAX_RANK_FILES:
        raise ValidationError(f"At most {MAX_RANK_FILES} other ranks' files go with one trace.")
    trace_upload_limit(owner=owner)
    limit = settings.TRACE_MAX_UPLOAD_BYTES
    for upload in (uploaded_file, *rank_files):
        _trace_file_check(upload, limit=limit)

    trace = Trace(
        owner=owner,
        question=question,
        original_name=_original_name(uploaded_file),
        is_private=private,
        state=Trace.State.QUEUED,
        size_bytes=0,
    )
    ranks = [TraceRankFile(rank=rank, original_name=_original_name(upload), size_bytes=0)
             for rank, upload in enumerate(rank_files, start=1)]  # fmt: skip
    stored: list = []
    try:
        # Storage reads each upload once: written to media and hashed in the same pass.
        for row, upload in ((trace, uploaded_file), *zip(ranks, rank_files, strict=True)):
            row.sha256, row.size_bytes = _trace_file_store(row.file, upload, limit=limit)
            stored.append(row.file)
    except (ValidationError, StorageUnavailable):
        for field in stored:
            _partial_file_delete(field.name)
        raise
    with transaction.atomic():
        # One upload per user at a time, so two copies of a file cannot race past the reuse.
        User.objects.select_for_update().filter(pk=owner.pk).first()
        existing = _trace_reusable(owner=owner, sha256=trace.sha256, question=question)
        if existing is not None:
            names = [field.name for field in stored]
            storage = trace.file.storage
            transaction.on_commit(lambda: [storage.delete(name) for name in names])
            return _trace_reuse(trace=existing, question=question)
        trace.save()
        for row in ranks:
            row.trace = trace
        TraceRankFile.objects.bulk_create(ranks)
        queue.diagnose_trace_enqueue(trace.pk)
    logger.info("trace %s uploaded by %s (%s bytes)", trace.pk, owner.pk, trace.size_bytes)
    return trace


def _partial_file_delete(name: str) -> None:
    try:
        Trace.file.field.storage.delete(name)
    except STORAGE_ERRORS:
        logger.warning("partial trace file %s could not be deleted", name)


def _trace_reusable(*, owner, sha256: str, question) -> Trace | None:
    """The owner's earlier upload of the same bytes that this upload can stand for."""
    candidates = Trace.objects.select_for_update().filter(owner=owner, sha256=sha256)
    if question is not None:
        same = candidates.filter(question=question).first()
        # A private or unattached copy can be attached to the question (it becomes public).
        return same or candidates.filter(question__isnull=True).first()
    return candidates.filter(question__isnull=True).order_by("-is_private").first() or (
        candidates.first()
    )


def _trace_reuse(*, trace: Trace, question) -> Trace:
    changed = False
    if question is not None and trace.question_id is None:
        trace.question = question
        trace.is_private = False
        trace.save(update_fields=["question", "is_private", "updated_at"])
        changed = True
    if trace.state == Trace.State.FAILED or (changed and trace.is_terminal):
        # A retry after a failure, or a diagnosed trace that now needs its post in the thread:
        # the task reuses a stored diagnosis and only publishes it.
        trace.attempts = 0
        trace.save(update_fields=["attempts", "updated_at"])
        trace_state_set(trace, Trace.State.QUEUED)
        queue.diagnose_trace_enqueue(trace.pk)
    return trace


def trace_attach(*, trace: Trace, question, user) -> Trace:
    """Attach the user's own (private) trace to the user's own question, e.g. "Ask the community"."""
    if trace.owner_id != user.pk:
        raise PermissionDenied("You can only attach your own traces.")
    if question.author_id != user.pk:
        raise PermissionDenied("Only the person who asked can attach a trace to this question.")
    if trace.question_id is not None and trace.question_id != question.pk:
        raise ValidationError("This trace is already attached to another question.")
    trace_upload_limit(owner=user)  # attaching may queue the diagnosis again
    with transaction.atomic():
        trace = Trace.objects.select_for_update().get(pk=trace.pk)
        return _trace_reuse(trace=trace, question=question)


def trace_fail(*, trace_id: int, reason: str) -> None:
    """Mark a trace failed with a reason a person can read (unless it was diagnosed)."""
    with transaction.atomic():
        trace = Trace.objects.select_for_update().filter(pk=trace_id).first()
        if trace is None or trace.state == Trace.State.DIAGNOSED:
            return
        trace_state_set(trace, Trace.State.FAILED, reason=reason[:2000])
    logger.info("trace %s failed: %s", trace_id, reason)


class TraceRejected(ValidationError):
    """The trace of an ask-with-a-trace was refused (the question was not created either)."""


def question_ask_with_trace(
    *,
    author,
    title: str,
    body: str,
    tags: list[str],
    trace_file=None,
    trace: Trace | None = None,
    rank_files=(),
) -> tuple[Question, Trace | None]:
    """Ask a question with a trace: a new upload (``trace_file``) or the author's own private
    trace (``trace``, "Ask the community"). One transaction: a refused trace leaves no
    half-asked question behind. The web form and the API both ask through here."""
    with transaction.atomic():
        question = question_create(author=author, title=title, body=body, tags=tags)
        attached = None
        if trace_file is not None:
            try:
                attached = trace_upload(
                    owner=author, uploaded_file=trace_file, question=question, rank_files=rank_files
                )
            except ValidationError as error:
                raise TraceRejected(error.messages) from error
        if trace is not None:
            attached = trace_attach(trace=trace, question=question, user=author)
    return question, attached
