"""Writes for uploaded traces: upload, the worker's diagnosis, failures, the sweep.

The request does quick checks only (size, container header); the worker (analysis/tasks.py)
calls ``trace_diagnose``, which is idempotent: one Diagnosis and one bot post per trace and
engine version however often it runs, and every way it can fail ends in ``failed`` with a
reason a person can read.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import os
import resource
import select
import signal
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta

import psutil
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from traces.models import Diagnosis, Finding, Trace

logger = logging.getLogger(__name__)
User = get_user_model()

# Traces waiting in queued/replaying longer than this are re-enqueued by the sweep. Above the
# task's hard time limit plus its retry backoff (analysis/tasks.py), so a live task is never
# doubled by the sweep (and if it were, trace_diagnose is idempotent).
STUCK_AFTER = timedelta(minutes=15)
# Plots not drawn this long after their diagnosis are re-enqueued by the sweep (drawing takes
# seconds; the task's hard limit is under two minutes) until they are a day old.
PLOTS_STUCK_AFTER = timedelta(minutes=5)
PLOTS_GIVE_UP_AFTER = timedelta(days=1)
# Times a worker may begin replaying one trace before it is failed for good: a trace that kills
# its worker every time (redelivered by acks_late + reject_on_worker_lost) must not loop forever.
MAX_ATTEMPTS = 5
# Bytes read for the quick header check in the request (traces/format.py: 16-byte header).
HEADER_PEEK_BYTES = 64
# The bot post's first line: people must see at once that a program wrote it.
BOT_POST_BANNER = "**Gradient Doctor · automated diagnosis**"
# The engine's report in a post is cut (at a finding) beyond this: the forum takes automated
# posts up to 4 x 30,000 characters (hub/forum/services.py), and the rest of the post is short.
BOT_POST_REPORT_MAX_CHARS = 100_000
# "Questions with the same diagnosis" (solved first) listed in a bot post.
SIMILAR_QUESTIONS_LIMIT = 5
# Tags the findings add to a question: warnings and errors only (an info note is not a problem).
TAGGED_SEVERITIES = ("error", "warning")
# A plot name becomes a URL part: keep it to a safe alphabet.
PLOT_NAME_ALPHABET = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


def _tag_for_code(code: str) -> str:
    return code.replace("_", "-")


# --- upload ----------------------------------------------------------------------------------


def trace_header_check(*, head: bytes) -> None:
    """The quick check of the container header in the request: magic, version, flags."""
    from traces import format as trace_format

    check = getattr(trace_format, "check_header", None)
    try:
        if check is not None:
            check(head)
            return
        if len(head) < trace_format.HEADER.size:
            raise trace_format.TraceFormatError(
                "truncated: file is shorter than the 16-byte header"
            )
        magic, version, flags = trace_format.HEADER.unpack_from(head, 0)
        if magic != trace_format.MAGIC:
            raise trace_format.TraceFormatError("wrong magic bytes: not a GradHub trace file")
        if version != trace_format.FORMAT_VERSION:
            raise trace_format.TraceFormatError(
                f"unsupported format version {version} "
                f"(this site reads version {trace_format.FORMAT_VERSION})"
            )
        if flags != 0:
            raise trace_format.TraceFormatError(f"unknown header flags {flags:#x}")
    except trace_format.TraceFormatError as exc:
        raise ValidationError(f"This is not a trace file we can read: {exc}.") from exc


class _HashingFile(File):
    """Hashes and counts the bytes as storage reads them, and stops at the size limit."""

    def __init__(self, file, *, name: str, max_bytes: int):
        super().__init__(file, name=name)
        self.hasher = hashlib.sha256()
        self.bytes_read = 0
        self.max_bytes = max_bytes

    def chunks(self, chunk_size=None):
        for chunk in super().chunks(chunk_size):
            self.bytes_read += len(chunk)
            if self.bytes_read > self.max_bytes:
                raise ValidationError(_too_big_message(self.max_bytes))
            self.hasher.update(chunk)
            yield chunk


def _too_big_message(limit: int) -> str:
    return (
        f"The trace is larger than the {limit // 2**20} MB limit. Record fewer steps with --every."
    )


def _enqueue(trace_id: int) -> None:
    from analysis.tasks import diagnose_trace

    transaction.on_commit(functools.partial(diagnose_trace.delay, trace_id))


def _state_set(trace: Trace, state: str, *, reason: str = "") -> None:
    trace.state = state
    trace.failure_reason = reason if state == Trace.State.FAILED else ""
    trace.state_changed_at = timezone.now()
    trace.save(update_fields=["state", "failure_reason", "state_changed_at", "updated_at"])


def trace_upload(*, owner, uploaded_file, question=None, private: bool = False) -> Trace:
    """Store an uploaded trace and queue its diagnosis; the same file again reuses the trace."""
    if question is not None and question.author_id != owner.pk:
        raise PermissionDenied("Only the person who asked can attach a trace to this question.")
    if question is not None and private:
        raise ValidationError("A trace attached to a question is public; private ones are not.")
    limit = settings.TRACE_MAX_UPLOAD_BYTES
    size = getattr(uploaded_file, "size", None)
    if size is not None and size > limit:
        raise ValidationError(_too_big_message(limit))
    if size == 0:
        raise ValidationError("The file is empty.")
    uploaded_file.seek(0)
    head = uploaded_file.read(HEADER_PEEK_BYTES)
    uploaded_file.seek(0)
    trace_header_check(head=head)

    original_name = os.path.basename(getattr(uploaded_file, "name", "") or "")[:255]
    hashing = _HashingFile(uploaded_file, name=f"{uuid.uuid4().hex}.trace", max_bytes=limit)
    trace = Trace(
        owner=owner,
        question=question,
        original_name=original_name,
        is_private=private,
        state=Trace.State.QUEUED,
        size_bytes=0,
    )
    # Storage reads the upload once: written to media and hashed in the same pass.
    trace.file.save(hashing.name, hashing, save=False)
    trace.sha256 = hashing.hasher.hexdigest()
    trace.size_bytes = hashing.bytes_read
    with transaction.atomic():
        # One upload per user at a time, so two copies of a file cannot race past the reuse.
        User.objects.select_for_update().filter(pk=owner.pk).first()
        existing = _trace_reusable(owner=owner, sha256=trace.sha256, question=question)
        if existing is not None:
            name = trace.file.name
            transaction.on_commit(lambda: trace.file.storage.delete(name))
            return _trace_reuse(trace=existing, question=question)
        trace.save()
        _enqueue(trace.pk)
    logger.info("trace %s uploaded by %s (%s bytes)", trace.pk, owner.pk, trace.size_bytes)
    return trace


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
        _state_set(trace, Trace.State.QUEUED)
        _enqueue(trace.pk)
    return trace


def trace_attach(*, trace: Trace, question, user) -> Trace:
    """Attach the user's own (private) trace to the user's own question, e.g. "Ask the community"."""
    if trace.owner_id != user.pk:
        raise PermissionDenied("You can only attach your own traces.")
    if question.author_id != user.pk:
        raise PermissionDenied("Only the person who asked can attach a trace to this question.")
    if trace.question_id is not None and trace.question_id != question.pk:
        raise ValidationError("This trace is already attached to another question.")
    with transaction.atomic():
        trace = Trace.objects.select_for_update().get(pk=trace.pk)
        return _trace_reuse(trace=trace, question=question)


# --- the worker's diagnosis ------------------------------------------------------------------

# What one diagnosis may add to the address space of its forked child, on top of what it
# inherited. Uploads are capped at settings.TRACE_MAX_UPLOAD_BYTES (64 MiB, ~100k steps x 1000
# parameters); a 50k-step trace needs a few hundred MB (bench/pipeline.py), so 2 GiB leaves
# headroom without letting one trace take the machine or kill the worker.
DIAGNOSE_MEMORY_BYTES = 2 * 2**30
# Wall-clock budget of one diagnosis, below the task's soft time limit (analysis/tasks.py).
DIAGNOSE_TIMEOUT_SECONDS = 75
# Exit codes of the forked child, so the parent can tell what happened.
_EXIT_OK = 0
_EXIT_FORMAT = 3
_EXIT_MEMORY = 4
_EXIT_ENGINE = 5


class EngineFailure(Exception):
    """The diagnosis could not be made; ``str(exc)`` is a reason a person can read."""


@dataclass(frozen=True)
class EngineResult:
    diagnosis: dict  # analysis.Diagnosis.to_dict()
    markdown: str  # analysis.report.render_markdown()
    plots: dict[str, str]  # plot name -> SVG text


def engine_warm_up() -> None:
    """Import the engine (numpy, matplotlib) once per worker child so that each fork is cheap."""
    for name in ("traces.format", "analysis", "analysis.report", "analysis.plots"):
        try:
            importlib.import_module(name)
        except ImportError:
            logger.warning("could not import %s", name)


def _render_plots(trace, diagnosis) -> dict[str, str]:
    try:
        from analysis import plots
    except ImportError:
        return {}
    rendered = plots.render_svgs(trace, diagnosis)
    return {
        str(name): str(svg)
        for name, svg in rendered.items()
        if set(str(name)) <= PLOT_NAME_ALPHABET and svg
    }


def _engine_child(path: str, max_bytes: int, memory_bytes: int, fd: int, job) -> None:
    """In the forked child: cap memory, load + validate, run ``job(trace)``; answer in JSON."""
    code = _EXIT_ENGINE
    try:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)  # not the worker's handlers
        limit = psutil.Process().memory_info().vms + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from traces.format import TraceFormatError, load

        try:
            trace = load(path, max_bytes=max_bytes)
        except TraceFormatError as exc:
            _write_all(fd, json.dumps({"error": str(exc)}).encode())
            code = _EXIT_FORMAT
            return
        _write_all(fd, json.dumps(job(trace), allow_nan=False).encode())
        code = _EXIT_OK
    except MemoryError:
        code = _EXIT_MEMORY
    except BaseException as exc:  # an engine bug: name it, never take the worker down
        logger.exception("diagnosis engine failed on %s", path)
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" in {os.path.basename(last[0].filename)}:{last[0].lineno}" if last else ""
        try:
            _write_all(fd, json.dumps({"crash": f"{type(exc).__name__}{where}"}).encode())
        except BaseException:
            pass
    finally:
        os._exit(code)


def _diagnose_job(trace, *, with_plots: bool) -> dict:
    import analysis
    import analysis.report

    diagnosis = analysis.diagnose(trace)
    return {
        "diagnosis": diagnosis.to_dict(),
        "markdown": analysis.report.render_markdown(diagnosis),
        "plots": _render_plots(trace, diagnosis) if with_plots else {},
    }


def _plots_job(trace, *, diagnosis_data: dict) -> dict:
    from analysis import Diagnosis as EngineDiagnosis

    return {"plots": _render_plots(trace, EngineDiagnosis.from_dict(diagnosis_data))}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_until_eof(fd: int, *, deadline: float) -> bytes | None:
    """Everything the child writes, or None when the deadline passes first."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _run_in_child(
    *, path: str, max_bytes: int, job, memory_bytes: int, timeout_seconds: float
) -> dict:
    """Run ``job(loaded trace)`` in a forked child with an address-space cap and a deadline.

    Raises TraceFormatError (the file is invalid) or EngineFailure (too big, too slow, or an
    engine bug). A plain os.fork (Celery's pool children may not start multiprocessing
    children); the result comes back as JSON over a pipe: never pickle, the data stems from an
    upload.
    """
    from traces.format import TraceFormatError

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns from here
        os.close(read_fd)
        _engine_child(path, max_bytes, memory_bytes, write_fd, job)
    os.close(write_fd)
    status = None
    try:
        raw = _read_until_eof(read_fd, deadline=time.monotonic() + timeout_seconds)
        if raw is None:
            raise EngineFailure(
                f"The diagnosis took longer than {timeout_seconds:.0f} seconds and was stopped. "
                "Record fewer steps (python -m traces.capture --every 10 ...) and upload again."
            )
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(read_fd)
        if status is None:  # timed out or interrupted (soft time limit): stop the child
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    exitcode = os.waitstatus_to_exitcode(status)
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    if data is not None and "error" in data:
        raise TraceFormatError(data["error"])
    if data is not None and "crash" in data:
        raise EngineFailure(
            f"The diagnosis engine failed on this trace ({data['crash']}). "
            "The error is logged for the maintainers."
        )
    if exitcode == _EXIT_MEMORY or (data is None and exitcode == -signal.SIGKILL):
        raise EngineFailure(
            f"The diagnosis needed more than {memory_bytes // 2**20} MB of memory and was "
            "stopped. Record fewer steps (python -m traces.capture --every 10 ...) and upload "
            "again."
        )
    if data is None:
        raise EngineFailure(f"The diagnosis stopped unexpectedly (exit code {exitcode}).")
    return data


def engine_run(
    *,
    path: str,
    max_bytes: int,
    with_plots: bool = True,
    memory_bytes: int = DIAGNOSE_MEMORY_BYTES,
    timeout_seconds: float = DIAGNOSE_TIMEOUT_SECONDS,
) -> EngineResult:
    """Load, validate and diagnose the trace file at ``path`` in a capped child."""
    data = _run_in_child(
        path=path,
        max_bytes=max_bytes,
        job=functools.partial(_diagnose_job, with_plots=with_plots),
        memory_bytes=memory_bytes,
        timeout_seconds=timeout_seconds,
    )
    if "diagnosis" not in data:
        raise EngineFailure("The diagnosis engine returned nothing.")
    return EngineResult(
        diagnosis=data["diagnosis"], markdown=data["markdown"], plots=data.get("plots") or {}
    )


def engine_plots(
    *,
    path: str,
    max_bytes: int,
    diagnosis_data: dict,
    memory_bytes: int = DIAGNOSE_MEMORY_BYTES,
    timeout_seconds: float = DIAGNOSE_TIMEOUT_SECONDS,
) -> dict[str, str]:
    """The SVG plots of a stored diagnosis (``Diagnosis.to_dict()``), drawn in a capped child."""
    data = _run_in_child(
        path=path,
        max_bytes=max_bytes,
        job=functools.partial(_plots_job, diagnosis_data=diagnosis_data),
        memory_bytes=memory_bytes,
        timeout_seconds=timeout_seconds,
    )
    return data.get("plots") or {}


def trace_fail(*, trace_id: int, reason: str) -> None:
    """Mark a trace failed with a reason a person can read (unless it was diagnosed)."""
    with transaction.atomic():
        trace = Trace.objects.select_for_update().filter(pk=trace_id).first()
        if trace is None or trace.state == Trace.State.DIAGNOSED:
            return
        _state_set(trace, Trace.State.FAILED, reason=reason[:2000])
    logger.info("trace %s failed: %s", trace_id, reason)


def _engine_version() -> str:
    from analysis import ENGINE_VERSION

    return ENGINE_VERSION


def trace_diagnose(*, trace_id: int, force: bool = False) -> Diagnosis | None:
    """The worker's job: diagnose one trace and publish the result, exactly once.

    Phase 1 (locked): exit early if this engine version already diagnosed it (then only make
    sure the post exists); otherwise mark ``replaying``. Phase 2 (no transaction): run the
    engine in a capped child. Phase 3 (locked, one transaction): store the diagnosis, the
    finding rows, the bot post, the tags and the state; a concurrent run that got there first
    wins and this one's result is dropped. The plots follow in ``analysis.render_plots``.
    ``force`` recomputes with the plots inline (``manage.py rediagnose``) and edits the
    existing post in place.
    """
    version = _engine_version()
    with transaction.atomic():
        trace = Trace.objects.select_for_update().filter(pk=trace_id).first()
        if trace is None:
            return None
        existing = trace.diagnoses.filter(engine_version=version).first()
        if existing is not None and not force:
            _diagnosis_publish(trace=trace, diagnosis=existing)
            return existing
        if trace.attempts >= MAX_ATTEMPTS and not force:
            _state_set(
                trace,
                Trace.State.FAILED,
                reason=f"The diagnosis was started {trace.attempts} times without finishing "
                "(the worker stopped each time); we gave up. Upload it again to retry.",
            )
            return None
        trace.attempts += 1
        trace.save(update_fields=["attempts", "updated_at"])
        _state_set(trace, Trace.State.REPLAYING)
        path, size = trace.file.path, trace.size_bytes

    delay = float(getattr(settings, "TRACE_DIAGNOSE_TEST_DELAY_SECONDS", 0) or 0)
    if delay:  # tests only: makes a task slow enough to SIGKILL its worker mid-way
        time.sleep(delay)

    from traces.format import TraceFormatError

    if not os.path.exists(path):  # say so without showing the server's paths
        trace_fail(
            trace_id=trace_id,
            reason="The uploaded file is missing on the server. Upload the trace again.",
        )
        return None
    try:
        # The worker posts first and draws the plots in a follow-up task (matplotlib takes
        # many times longer than the diagnosis); a forced re-run draws them inline, so the
        # post is edited once.
        result = engine_run(
            path=path, max_bytes=max(size, settings.TRACE_MAX_UPLOAD_BYTES), with_plots=force
        )
    except TraceFormatError as exc:
        trace_fail(trace_id=trace_id, reason=f"This trace file cannot be read: {exc}.")
        return None
    except EngineFailure as exc:
        trace_fail(trace_id=trace_id, reason=str(exc))
        return None

    with transaction.atomic():
        trace = (
            Trace.objects.select_for_update(of=("self",))
            .select_related("question", "owner")
            .get(pk=trace_id)
        )
        diagnosis = trace.diagnoses.filter(engine_version=version).first()
        if diagnosis is not None and not force:
            _diagnosis_publish(trace=trace, diagnosis=diagnosis)  # another run got there first
            return diagnosis
        diagnosis = _diagnosis_store(trace=trace, version=version, result=result, plots_done=force)
        _diagnosis_publish(trace=trace, diagnosis=diagnosis, force=force)
        if not diagnosis.plots_done:
            _plots_enqueue(diagnosis.pk)
    return diagnosis


def _plots_enqueue(diagnosis_id: int) -> None:
    from analysis.tasks import render_plots

    transaction.on_commit(functools.partial(render_plots.delay, diagnosis_id))


def diagnosis_plots_render(*, diagnosis_id: int) -> Diagnosis | None:
    """The follow-up task: draw the plots of a stored diagnosis and add them to the bot post.

    Idempotent like trace_diagnose: drawn outside any transaction, saved under a row lock only
    if no other run saved them first; a trace that cannot be drawn ends with no plots.
    """
    diagnosis = Diagnosis.objects.select_related("trace").filter(pk=diagnosis_id).first()
    if diagnosis is None or diagnosis.plots_done:
        return diagnosis
    from traces.format import TraceFormatError

    trace = diagnosis.trace
    try:
        plots = engine_plots(
            path=trace.file.path,
            max_bytes=max(trace.size_bytes, settings.TRACE_MAX_UPLOAD_BYTES),
            diagnosis_data={
                "engine_version": diagnosis.engine_version,
                "summary": diagnosis.summary,
                "facts": diagnosis.facts,
                "findings": diagnosis.findings,
            },
        )
    except (TraceFormatError, EngineFailure, OSError) as exc:
        logger.warning("plots of diagnosis %s not drawn: %s", diagnosis_id, exc)
        plots = {}
    with transaction.atomic():
        diagnosis = Diagnosis.objects.select_for_update().filter(pk=diagnosis_id).first()
        if diagnosis is None or diagnosis.plots_done:
            return diagnosis
        diagnosis.plots = plots
        diagnosis.plots_done = True
        diagnosis.save(update_fields=["plots", "plots_done", "updated_at"])
        if plots and diagnosis.answer_id is not None:
            from hub.accounts.services import bot_user_get
            from hub.forum.services import answer_edit

            trace = Trace.objects.select_related("question").get(pk=diagnosis.trace_id)
            if trace.question_id is not None:
                answer_edit(
                    answer=diagnosis.answer,
                    editor=bot_user_get(),
                    body=bot_post_body(trace=trace, diagnosis=diagnosis),
                )
    return diagnosis


def _diagnosis_store(
    *, trace: Trace, version: str, result: EngineResult, plots_done: bool
) -> Diagnosis:
    data = result.diagnosis
    diagnosis, _ = Diagnosis.objects.update_or_create(
        trace=trace,
        engine_version=version,
        defaults={
            "summary": data.get("summary", ""),
            "healthy": bool(data.get("healthy", True)),
            "findings": data.get("findings", []),
            "facts": data.get("facts", {}),
            "report_markdown": result.markdown,
            "plots": result.plots,
            "plots_done": plots_done,
        },
    )
    diagnosis.finding_rows.all().delete()
    Finding.objects.bulk_create(
        Finding(
            diagnosis=diagnosis,
            code=f["code"],
            severity=f["severity"],
            title=f["title"][:300],
            layers=list(f["evidence"].get("modules") or []),
            first_layer=(f["evidence"].get("modules") or [""])[0][:300],
            onset_step=f["evidence"].get("onset_step"),
            confidence=min(max(float(f["confidence"]), 0.0), 1.0),
        )
        for f in diagnosis.findings
    )
    return diagnosis


def _diagnosis_publish(*, trace: Trace, diagnosis: Diagnosis, force: bool = False) -> None:
    """Inside the caller's transaction: the bot post, tags, state, notification, webhooks."""
    if trace.question_id is not None:
        _bot_post(trace=trace, diagnosis=diagnosis, force=force)
        tags = sorted(
            {
                _tag_for_code(f["code"])
                for f in diagnosis.findings
                if f["severity"] in TAGGED_SEVERITIES
            }
        )
        if tags:
            from hub.forum.services import question_tags_add

            question_tags_add(question=trace.question, tags=tags)
    if trace.state == Trace.State.DIAGNOSED and not force:
        return
    _state_set(trace, Trace.State.DIAGNOSED)
    _diagnosed_notify(trace=trace, diagnosis=diagnosis)


# Characters with a meaning in CommonMark, escaped in user text placed into the bot's post.
_MD_SPECIAL = set("\\`*_{}[]()<>#+-.!|~")


def _md_escape(text: str) -> str:
    return "".join(f"\\{ch}" if ch in _MD_SPECIAL else ch for ch in text.replace("\n", " "))


def bot_post_body(*, trace: Trace, diagnosis: Diagnosis) -> str:
    """The markdown of the bot's post: banner, the engine's report, plots, similar questions."""
    from traces.selectors import questions_with_same_diagnosis

    report = diagnosis.report_markdown.rstrip()
    # raw HTML is off in posts: drop the engine's <sub> footer line, we write our own
    report = "\n".join(line for line in report.splitlines() if not line.startswith("<sub>"))
    if len(report) > BOT_POST_REPORT_MAX_CHARS:  # the forum refuses longer automated posts
        cut = report.rfind("\n### ", 0, BOT_POST_REPORT_MAX_CHARS)
        report = report[: cut if cut > 0 else BOT_POST_REPORT_MAX_CHARS].rstrip() + (
            f"\n\n*The report is longer than a post: read all of it on "
            f"[the trace page]({trace.get_absolute_url()}).*"
        )
    name = _md_escape(trace.original_name or "uploaded trace")
    parts = [
        f"{BOT_POST_BANNER} of [trace #{trace.pk}]({trace.get_absolute_url()}) ({name})",
        "",
        report,
    ]
    if diagnosis.plots:
        parts += ["", "### Plots", ""]
        for name in sorted(diagnosis.plots):
            label = name.replace("_", " ").replace("-", " ")
            url = f"/traces/{trace.pk}/plots/{name}.svg"
            parts.append(f"[![{label}]({url})]({url})")
            parts.append("")
    codes = [f["code"] for f in diagnosis.findings if f["severity"] in TAGGED_SEVERITIES]
    if codes:
        layers = [layer for f in diagnosis.findings for layer in f["evidence"].get("modules", [])]
        similar = questions_with_same_diagnosis(
            codes=codes,
            layers=layers,
            exclude_question_id=trace.question_id,
            limit=SIMILAR_QUESTIONS_LIMIT,
        )
        parts += ["", "### Questions with the same diagnosis (✅ solved, listed first)", ""]
        if similar:
            for question in similar:
                mark = "✅ " if question.accepted_answer_id else ""
                title = _md_escape(question.title)
                parts.append(f"- {mark}[{title}]({question.get_absolute_url()})")
        else:
            parts.append("None yet: this may be the first.")
    parts += [
        "",
        "---",
        f"*Written by a program (engine {diagnosis.engine_version}). Check the evidence; "
        "vote and comment as on any answer.*",
    ]
    return "\n".join(parts).strip() + "\n"


def _bot_post(*, trace: Trace, diagnosis: Diagnosis, force: bool) -> None:
    from hub.accounts.services import bot_user_get
    from hub.forum.models import Answer
    from hub.forum.services import answer_create, answer_edit

    if diagnosis.answer_id is not None and not force:
        return
    bot = bot_user_get()
    body = bot_post_body(trace=trace, diagnosis=diagnosis)
    # One post per trace: a new engine version (or a forced re-run) edits the earlier post.
    earlier = (
        Diagnosis.objects.filter(trace=trace, answer__isnull=False)
        .order_by("-updated_at")
        .values_list("answer_id", flat=True)
        .first()
    )
    answer = Answer.objects.filter(pk=earlier, question_id=trace.question_id).first()
    if answer is not None:
        answer = answer_edit(answer=answer, editor=bot, body=body)
    else:
        answer = answer_create(author=bot, question=trace.question, body=body, automated=True)
    diagnosis.answer = answer
    diagnosis.save(update_fields=["answer", "updated_at"])


def _diagnosed_notify(*, trace: Trace, diagnosis: Diagnosis) -> None:
    from hub.notifications.services import notify

    if trace.question_id is not None:
        text = f'Gradient Doctor diagnosed your trace on "{trace.question.title}": '
    else:
        text = "Gradient Doctor diagnosed your trace: "
    notify(
        recipient=trace.owner,
        verb="diagnosed",
        text=text + diagnosis.summary,
        url=trace.get_absolute_url(),
        question=trace.question,
    )
    try:
        webhooks = importlib.import_module("hub.api.webhooks")
    except ImportError:
        return
    dispatch = getattr(webhooks, "webhook_dispatch", None)
    if dispatch is None:
        return
    payload = {
        "trace_id": trace.pk,
        "question_id": trace.question_id,
        "state": trace.state,
        "engine_version": diagnosis.engine_version,
        "summary": diagnosis.summary,
        "codes": [f["code"] for f in diagnosis.findings],
        "url": settings.SITE_URL.rstrip("/") + trace.get_absolute_url(),
    }
    # Inside the transaction: the deliveries are recorded with the diagnosis, sent after commit.
    dispatch(user=trace.owner, event="diagnosis.ready", payload=payload)


# --- the sweep -------------------------------------------------------------------------------


def traces_sweep_stuck(*, now=None) -> dict[str, int]:
    """Re-enqueue traces stuck in queued/replaying; fail those out of attempts."""
    now = now or timezone.now()
    requeued = failed = 0
    stuck_ids = list(
        Trace.objects.filter(
            state__in=[Trace.State.QUEUED, Trace.State.REPLAYING, Trace.State.UPLOADED],
            state_changed_at__lt=now - STUCK_AFTER,
        ).values_list("pk", flat=True)[:1000]
    )
    for trace_id in stuck_ids:
        with transaction.atomic():
            trace = (
                Trace.objects.select_for_update(skip_locked=True)
                .filter(pk=trace_id, state_changed_at__lt=now - STUCK_AFTER)
                .exclude(state__in=Trace.TERMINAL_STATES)
                .first()
            )
            if trace is None:  # a worker holds it or finished it meanwhile
                continue
            if trace.attempts >= MAX_ATTEMPTS:
                _state_set(
                    trace,
                    Trace.State.FAILED,
                    reason=f"The diagnosis did not finish after {trace.attempts} attempts; we "
                    "gave up. Upload the trace again to retry.",
                )
                failed += 1
                continue
            _state_set(trace, Trace.State.QUEUED)  # restarts the stuck clock
            _enqueue(trace.pk)
            requeued += 1
    # Plots whose follow-up task was lost (a worker died between the post and the enqueue).
    plots = list(
        Diagnosis.objects.filter(
            plots_done=False,
            updated_at__lt=now - PLOTS_STUCK_AFTER,
            updated_at__gt=now - PLOTS_GIVE_UP_AFTER,
        ).values_list("pk", flat=True)[:1000]
    )
    for diagnosis_id in plots:
        from analysis.tasks import render_plots

        render_plots.delay(diagnosis_id)
    if requeued or failed or plots:
        logger.info(
            "sweep: %s traces re-enqueued, %s failed, %s plots re-enqueued",
            requeued, failed, len(plots),
        )  # fmt: skip
    return {"requeued": requeued, "failed": failed, "plots": len(plots)}
