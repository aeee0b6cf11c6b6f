"""Upload a gradient trace to GradHub and (optionally) wait for its diagnosis.

    python -m traces.upload run.trace --title "Loss is flat"      # the question text is optional
    python -m traces.upload run.trace --title "Loss is flat" --body-file question.md --wait
    python -m traces.upload run.trace --question 42
    python -m traces.upload run.trace --private --wait      # e.g. in CI: exit 1 on an error
    python -m traces.upload run.trace --title "DDP loss differs"   # torchrun: every run.rankR.trace

The server is ``--url`` or ``$GRADHUB_URL`` (default http://127.0.0.1:8000); the personal access
token is ``--token`` or ``$GRADHUB_TOKEN`` (create one on your profile page; it needs the
``traces`` scope, and ``write`` too to ask a new question).

Exit status: 0 uploaded (and, with --wait, no ``error`` finding); 1 the diagnosis has an
``error`` finding; 2 a usage error, a refused upload, a failed diagnosis or an unreachable
server, with the reason on stderr.

Only the standard library: this runs next to a training script, without the web stack.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from traces.distributed import rank_files

DEFAULT_URL = "http://127.0.0.1:8000"
API_PREFIX = "/api/v1"
CHUNK_BYTES = 64 * 1024
REQUEST_TIMEOUT = 60  # seconds per HTTP request
DEFAULT_WAIT_SECONDS = 600  # a diagnosis normally lands in seconds; the worker may be busy
POLL_FIRST, POLL_MAX = 1.0, 5.0  # seconds between status polls, growing
BAR_WIDTH = 30
EXIT_OK, EXIT_ERROR_FINDING, EXIT_FAILURE = 0, 1, 2
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_RANK = re.compile(r"\.rank(?P<rank>\d+)(\.[^.]+)?$")


# The question's text when only --title is given: enough for the forum, and honest about it.
DEFAULT_QUESTION_BODY = (
    "I recorded this training run with `python -m traces.capture` and attached the trace "
    "({name}). The Gradient Doctor's diagnosis follows in this thread; what else should I check?"
)


class UploadError(Exception):
    """Anything that ends the command with exit status 2; the message says why."""


# --- HTTP ------------------------------------------------------------------------------------


def _error_message(error: urllib.error.HTTPError) -> str:
    """The server's error body message (the API's {"error": {"message": ...}}) if any."""
    try:
        body = json.loads(error.read().decode("utf-8", "replace"))
        message = body["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = error.reason or "no details"
    return f"{message} (HTTP {error.code})"


def _request(request: urllib.request.Request) -> dict:
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise UploadError(_error_message(exc)) from exc
    except urllib.error.URLError as exc:
        raise UploadError(f"Cannot reach {request.full_url}: {exc.reason}") from exc
    except (TimeoutError, ConnectionError) as exc:
        raise UploadError(f"Cannot reach {request.full_url}: {exc}") from exc
    except ValueError as exc:
        raise UploadError(f"The server sent something that is not JSON: {exc}") from exc


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "User-Agent": "gradhub-traces-upload/1",
    }


def api_get(*, base_url: str, token: str, path: str) -> dict:
    url = base_url.rstrip("/") + API_PREFIX + path
    return _request(urllib.request.Request(url, headers=_headers(token), method="GET"))


# --- multipart body, streamed with a progress bar --------------------------------------------


class ProgressBar:
    """`label [#####.....]  45%  1.2/2.6 MB` on stderr, redrawn in place."""

    def __init__(self, *, label: str, total: int, stream=None):
        self.label, self.total, self.done = label, max(total, 1), 0
        self.stream = stream or sys.stderr
        self._last_percent = -1

    def advance(self, count: int) -> None:
        self.done += count
        percent = min(100, self.done * 100 // self.total)
        if percent != self._last_percent:
            self._last_percent = percent
            filled = BAR_WIDTH * percent // 100
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            end = "\n" if percent == 100 else ""
            sizes = _sizes(self.done, self.total)
            self.stream.write(f"\r{self.label} [{bar}] {percent:3d}%  {sizes}{end}")
            self.stream.flush()


def _sizes(done: int, total: int) -> str:
    """ "1.2/2.6 MB" in the unit of the total: a small trace is "34.5/34.5 KB", not "0.0/0.0 MB"."""
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if total >= scale:
            return f"{done / scale:.1f}/{total / scale:.1f} {unit}"
    return f"{done}/{total} B"


class MultipartBody:
    """A multipart/form-data body read from disk in chunks: the file is never held in memory.

    http.client sends an iterable body piece by piece; the length is known up front, so the
    request carries a Content-Length (no chunked encoding, which many servers refuse)."""

    def __init__(self, *, fields: list[tuple[str, str]], files: list[tuple[str, Path]], progress):
        self.boundary = f"gradhub-{secrets.token_hex(16)}"
        self.files = files
        self.progress = progress
        self.head = b"".join(self._field(name, value) for name, value in fields)
        self.tail = f"--{self.boundary}--\r\n".encode()
        self.length = (
            len(self.head)
            + len(self.tail)
            + sum(
                len(self._file_head(field, path)) + path.stat().st_size + 2 for field, path in files
            )
        )

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _field(self, name: str, value: str) -> bytes:
        return (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()

    def _file_head(self, field: str, path: Path) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{_quote(path.name)}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        for field, path in self.files:
            yield self._file_head(field, path)
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    self.progress.advance(len(chunk))
                    yield chunk
            yield b"\r\n"
        yield self.tail


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")


def token_can_ask_check(*, base_url: str, token: str) -> None:
    """Refuse before sending the file when the token cannot ask a question (needs ``write``).

    A token that may not even read its own scopes is left to the server's answer."""
    try:
        me = api_get(base_url=base_url, token=token, path="/users/me/")
    except UploadError:
        return
    scopes = me.get("token_scopes")
    if scopes is not None and "write" not in scopes:
        raise UploadError(
            f"This token cannot ask a question: it lacks the write scope (it has: "
            f"{', '.join(scopes)}). Create a token with read, write and traces on your GradHub "
            "settings page, or upload with --question ID or --private instead."
        )


def upload_trace(
    *,
    base_url: str,
    token: str,
    path: Path,
    question: int | None = None,
    title: str | None = None,
    body: str | None = None,
    tags: list[str] | None = None,
    private: bool = False,
    rank_paths: list[Path] | None = None,
    progress_stream=None,
) -> dict:
    """POST the trace to /api/v1/traces/; returns the trace as the API describes it.

    ``rank_paths``: a distributed run's other ranks (1, 2, …), sent in the same request."""
    fields: list[tuple[str, str]] = []
    if question is not None:
        fields.append(("question", str(question)))
    if title is not None:
        fields += [("title", title), ("body", body or "")]
        fields += [("tags", tag) for tag in tags or []]
    if private:
        fields.append(("private", "true"))
    files = [("file", path)] + [("rank_files", rank) for rank in rank_paths or []]
    label = f"Uploading {path.name}" + (f" + {len(files) - 1} rank(s)" if len(files) > 1 else "")
    total = sum(p.stat().st_size for _, p in files)
    progress = ProgressBar(label=label, total=total, stream=progress_stream)
    multipart = MultipartBody(fields=fields, files=files, progress=progress)
    headers = {
        **_headers(token),
        "Content-Type": multipart.content_type,
        "Content-Length": str(multipart.length),
    }
    url = base_url.rstrip("/") + API_PREFIX + "/traces/"
    return _request(urllib.request.Request(url, data=multipart, headers=headers, method="POST"))


# --- waiting for the diagnosis ---------------------------------------------------------------


def wait_for_diagnosis(
    *, base_url: str, token: str, trace_id: int, timeout: float, sleep=time.sleep
) -> dict:
    """Poll the trace until it is diagnosed; returns the diagnosis (findings, plots)."""
    deadline = time.monotonic() + timeout
    delay = POLL_FIRST
    while True:
        trace = api_get(base_url=base_url, token=token, path=f"/traces/{trace_id}/")
        if trace["state"] == "diagnosed":
            return api_get(base_url=base_url, token=token, path=f"/traces/{trace_id}/diagnosis/")
        if trace["state"] == "failed":
            raise UploadError(f"The diagnosis failed: {trace.get('failure_reason') or 'no reason'}")
        if time.monotonic() + delay > deadline:
            raise UploadError(
                f"Gave up after {timeout:.0f} s: the trace is still {trace['state']}. "
                f"See {trace.get('url', '')}"
            )
        sleep(delay)
        delay = min(delay * 1.5, POLL_MAX)


def findings_report(diagnosis: dict) -> str:
    findings = sorted(
        diagnosis.get("findings", []), key=lambda f: SEVERITY_ORDER.get(f.get("severity"), 9)
    )
    if not findings:
        return "No findings: the run looks healthy."
    lines = []
    for finding in findings:
        lines.append(f"{finding['severity'].upper():8} {finding['code']}: {finding['title']}")
        if finding.get("summary"):
            lines.append(f"         {finding['summary']}")
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m traces.upload",
        description="Upload a gradient trace to GradHub; print the question URL and, with "
        "--wait, the findings (exit 1 if one is an error).",
    )
    parser.add_argument(
        "trace",
        type=Path,
        nargs="+",
        help="the .trace file (python -m traces.capture); a distributed run's run.trace stands "
        "for its run.rank0.trace, run.rank1.trace, … (or name them all)",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--question", type=int, metavar="ID", help="attach to your question ID")
    target.add_argument("--title", metavar="T", help="ask a new question with this title")
    target.add_argument("--private", action="store_true", help="diagnose privately")
    parser.add_argument(
        "--body-file", type=Path, metavar="F", help="the question body (markdown; optional)"
    )
    parser.add_argument("--tags", default="", help="comma-separated tags for a new question")
    parser.add_argument("--wait", action="store_true", help="wait for the diagnosis")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_WAIT_SECONDS, help="seconds --wait waits"
    )
    parser.add_argument("--token", help="access token (default: $GRADHUB_TOKEN)")
    parser.add_argument("--url", help=f"server (default: $GRADHUB_URL or {DEFAULT_URL})")
    return parser


def _trace_and_ranks(paths: list[Path]) -> tuple[Path, list[Path]]:
    """The file to upload and the other ranks' files that go with it (rank order).

    One path of a distributed run (``run.trace`` that torchrun never wrote, or any
    ``run.rankR.trace``) stands for all its rank files; several paths are sorted by the rank in
    their names."""
    if len(paths) == 1 and (not paths[0].is_file() or ".rank" in paths[0].name):
        paths = rank_files(paths[0]) or paths
    elif len(paths) > 1:
        ranked = {path: _RANK.search(path.name) for path in paths}
        if all(ranked.values()):
            paths = sorted(paths, key=lambda path: int(ranked[path]["rank"]))
    for path in paths:
        if not path.is_file():
            raise UploadError(f"No such file: {path}")
    return paths[0], list(paths[1:])


def main(argv: list[str] | None = None, *, stdout=None, stderr=None) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a usage message on bad arguments
    if args.body_file is not None and args.title is None:
        parser.error("--body-file goes with --title (a new question)")
    token = args.token or os.environ.get("GRADHUB_TOKEN", "")
    base_url = args.url or os.environ.get("GRADHUB_URL", "") or DEFAULT_URL
    try:
        if not token:
            raise UploadError(
                "No access token: set GRADHUB_TOKEN or pass --token "
                "(create one on your GradHub profile page)."
            )
        trace_path, rank_paths = _trace_and_ranks(args.trace)
        body = None
        if args.body_file is not None:
            try:
                body = args.body_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise UploadError(f"Cannot read {args.body_file}: {exc.strerror}") from exc
        elif args.title is not None:
            body = DEFAULT_QUESTION_BODY.format(name=trace_path.name)
        if args.title is not None:
            token_can_ask_check(base_url=base_url, token=token)
        trace = upload_trace(
            base_url=base_url,
            token=token,
            path=trace_path,
            rank_paths=rank_paths,
            question=args.question,
            title=args.title,
            body=body,
            tags=[tag.strip() for tag in args.tags.split(",") if tag.strip()],
            private=args.private,
            progress_stream=stderr,
        )
        if args.private and trace.get("question_url"):
            # The same bytes are one trace: it was already posted in a public thread.
            print(
                f"note: this file is already attached to your public question "
                f"{trace['question_url']}; its diagnosis is public there.",
                file=stderr,
            )
            print(trace["url"], file=stdout)
        else:
            print(trace.get("question_url") or trace["url"], file=stdout)
        if not args.wait:
            return EXIT_OK
        diagnosis = wait_for_diagnosis(
            base_url=base_url, token=token, trace_id=trace["id"], timeout=args.timeout
        )
    except UploadError as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_FAILURE
    print(findings_report(diagnosis), file=stdout)
    has_error = any(f.get("severity") == "error" for f in diagnosis.get("findings", []))
    return EXIT_ERROR_FINDING if has_error else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
