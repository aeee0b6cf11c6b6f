"""python -m traces.upload against a live server (and, with --wait, a real Celery worker)."""

import io
import itertools
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub.traces.pipeline_fixtures import missing_zero_grad_trace_bytes, trace_bytes
from traces import upload

REPO = Path(__file__).resolve().parents[2]
_numbers = itertools.count(1)


def _person(*, scopes=("read", "write", "traces")):
    from hub.accounts.models import Profile
    from hub.accounts.services import user_create
    from hub.api.services import token_create

    name = f"uploader{next(_numbers)}p{os.getpid() % 1000}"
    user = user_create(username=name, email=f"{name}@example.com", password="correct horse 9")
    Profile.objects.filter(user=user).update(reputation=500)
    _, raw = token_create(user=user, name="cli", scopes=list(scopes))
    return user, raw


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = upload.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def no_diagnosis(monkeypatch):
    """Uploads without queueing a diagnosis: no task may still hold rows when the test's
    database is flushed (a worker started by another test would be diagnosing it)."""
    queued: list[int] = []
    monkeypatch.setattr("hub.traces.queue.diagnose_trace_enqueue", queued.append)
    return queued


@pytest.fixture
def trace_file(tmp_path):
    def write(data: bytes | None = None, name: str = "run.trace") -> str:
        path = tmp_path / name
        path.write_bytes(trace_bytes() if data is None else data)
        return str(path)

    return write


def test_the_client_imports_without_django():
    code = (
        "import sys; sys.modules['django'] = None; sys.modules['rest_framework'] = None; "
        "import traces.upload; print(traces.upload.DEFAULT_URL)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--body-file", "q.md"], "--body-file goes with --title"),
        (["--question", "3", "--private"], "not allowed with argument"),
        (["--question", "three"], "invalid int value"),
    ],
)
def test_usage_errors_exit_2_with_the_reason(trace_file, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        upload.main([trace_file(), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_no_token_or_no_file_exit_2(trace_file, monkeypatch):
    monkeypatch.delenv("GRADHUB_TOKEN", raising=False)
    code, _, err = _run(trace_file(), "--private")
    assert code == 2 and "No access token" in err
    code, _, err = _run("/no/such/run.trace", "--private", "--token", "gradhub_x")
    assert code == 2 and "No such file" in err


def test_an_unreachable_server_exits_2(trace_file):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = _run(
        trace_file(), "--private", "--token", "gradhub_x", "--url", f"http://127.0.0.1:{port}"
    )
    assert code == 2 and "Cannot reach" in err


@pytest.mark.django_db(transaction=True)
def test_a_private_upload_prints_the_trace_url_with_a_progress_bar(
    live_server, trace_file, no_diagnosis
):
    from hub.traces.models import Trace

    user, token = _person()
    path = trace_file(trace_bytes(num_steps=400))
    code, out, err = _run(path, "--private", "--token", token, "--url", live_server.url)
    assert code == 0, err
    trace = Trace.objects.get(owner=user)
    assert out.strip() == live_server.url + trace.get_absolute_url()
    assert trace.is_private and trace.size_bytes == os.path.getsize(path)
    assert "Uploading run.trace [" in err and "100%" in err
    assert no_diagnosis == [trace.pk]


@pytest.mark.django_db(transaction=True)
def test_asking_a_new_question_prints_its_url(
    live_server, trace_file, tmp_path, monkeypatch, no_diagnosis
):
    from hub.forum.models import Question

    user, token = _person()
    body = tmp_path / "question.md"
    body.write_text("My loss stopped falling after step 10. What is wrong?", encoding="utf-8")
    monkeypatch.setenv("GRADHUB_URL", live_server.url)
    monkeypatch.setenv("GRADHUB_TOKEN", token)
    code, out, err = _run(
        trace_file(), "--title", "Loss stuck after ten steps", "--body-file", str(body),
        "--tags", "sgd, loss",
    )  # fmt: skip
    assert code == 0, err
    question = Question.objects.get(author=user)
    assert out.strip() == live_server.url + question.get_absolute_url()
    assert sorted(t.name for t in question.tags.all()) == ["loss", "sgd"]
    assert question.traces.count() == 1


@pytest.mark.django_db(transaction=True)
def test_private_upload_of_a_file_already_on_a_public_question_says_so(
    live_server, trace_file, no_diagnosis
):
    """The same bytes are one trace: asking for privacy cannot hide a diagnosis already posted
    in a public thread, so the command prints the trace page and says where it is public."""
    from hub.traces.models import Trace

    user, token = _person()
    path = trace_file()
    server = ("--token", token, "--url", live_server.url)
    assert _run(path, "--title", "Loss stuck after ten steps", *server)[0] == 0
    code, out, err = _run(path, "--private", *server)
    assert code == 0, err
    trace = Trace.objects.get(owner=user)
    assert out.strip() == live_server.url + trace.get_absolute_url()
    assert "already attached to your public question" in err
    assert live_server.url + trace.question.get_absolute_url() in err


@pytest.mark.django_db(transaction=True)
def test_the_quick_start_works_as_written_a_title_and_a_token_with_the_forms_defaults(
    live_server, trace_file, monkeypatch, no_diagnosis
):
    """`python -m traces.upload run.trace --title "…"` with a token made by the token form's
    default scopes posts the question (the README's and the home page's quick-start)."""
    from hub.api.forms import TokenCreateForm
    from hub.forum.models import Question

    user, token = _person(scopes=TokenCreateForm().fields["scopes"].initial)
    monkeypatch.setenv("GRADHUB_URL", live_server.url)
    monkeypatch.setenv("GRADHUB_TOKEN", token)
    code, out, err = _run(trace_file(), "--title", "Loss stuck after ten steps")
    assert code == 0, err
    question = Question.objects.get(author=user)
    assert out.strip() == live_server.url + question.get_absolute_url()
    assert "python -m traces.capture" in question.body and question.traces.count() == 1


@pytest.mark.django_db(transaction=True)
def test_asking_with_a_token_that_cannot_write_stops_before_uploading_the_file(
    live_server, trace_file, monkeypatch, no_diagnosis
):
    from hub.traces.models import Trace

    user, token = _person(scopes=("read", "traces"))
    code, _, err = _run(
        trace_file(), "--title", "Loss stuck after ten steps", "--token", token,
        "--url", live_server.url,
    )  # fmt: skip
    assert code == 2 and "write scope" in err and "--private" in err
    assert "Uploading" not in err  # not one byte of the file was sent
    assert not Trace.objects.filter(owner=user).exists()


@pytest.mark.django_db(transaction=True)
def test_server_refusals_exit_2_with_the_servers_message(live_server, trace_file, no_diagnosis):
    _, token = _person(scopes=("read",))
    code, _, err = _run(trace_file(), "--private", "--token", token, "--url", live_server.url)
    assert code == 2 and "lacks the traces scope" in err and "(HTTP 403)" in err
    _, token = _person()
    code, _, err = _run(
        trace_file(b"not a trace at all" * 8),
        "--private",
        "--token",
        token,
        "--url",
        live_server.url,
    )
    assert code == 2 and "(HTTP 400)" in err
    code, _, err = _run(
        trace_file(), "--private", "--token", "gradhub_wrong", "--url", live_server.url
    )
    assert code == 2 and "Invalid access token. (HTTP 401)" in err


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_wait_prints_the_findings_and_exits_1_on_an_error(celery_worker, live_server, trace_file):
    _, token = _person()
    bad = trace_file(missing_zero_grad_trace_bytes(), name="bad.trace")
    code, out, err = _run(bad, "--private", "--wait", "--timeout", "90", "--token", token,
                          "--url", live_server.url)  # fmt: skip
    assert code == 1, err + celery_worker.log_text()[-2000:]
    assert "ERROR    missing_zero_grad:" in out

    good = trace_file(trace_bytes(num_steps=60), name="good.trace")
    code, out, err = _run(good, "--private", "--wait", "--timeout", "90", "--token", token,
                          "--url", live_server.url)  # fmt: skip
    assert code == 0, err
    assert "ERROR" not in out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_python_dash_m_traces_upload_runs_as_a_command(live_server, trace_file, no_diagnosis):
    _, token = _person()
    result = subprocess.run(
        [sys.executable, "-m", "traces.upload", trace_file(), "--private"],
        cwd=REPO,
        env={**os.environ, "GRADHUB_URL": live_server.url, "GRADHUB_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(live_server.url + "/traces/")


@pytest.mark.parametrize(
    "total, shown",
    [(512, "512/512 B"), (34_500, "34.5/34.5 KB"), (2_600_000, "2.6/2.6 MB")],
)
def test_the_progress_bar_shows_sizes_in_a_unit_that_fits_them(total, shown):
    stream = io.StringIO()
    upload.ProgressBar(label="Uploading run.trace", total=total, stream=stream).advance(total)
    assert stream.getvalue().endswith(f"100%  {shown}\n")


@pytest.mark.django_db(transaction=True)
def test_a_distributed_run_uploads_its_rank_files_together_to_one_question(
    live_server, tmp_path, no_diagnosis
):
    """torchrun wrote run.rank0.trace and run.rank1.trace, never run.trace: the command names
    the run, and both files go in one request, rank 0 as the trace."""
    from hub.forum.models import Question
    from hub.traces.models import Trace, TraceRankFile

    user, token = _person()
    for rank in (1, 0):
        (tmp_path / f"run.rank{rank}.trace").write_bytes(trace_bytes(num_steps=20 + rank))
    code, out, err = _run(
        str(tmp_path / "run.trace"), "--title", "DDP: loss differs between ranks",
        "--token", token, "--url", live_server.url,
    )  # fmt: skip
    assert code == 0, err
    question = Question.objects.get(author=user)
    assert out.strip() == live_server.url + question.get_absolute_url()
    trace = Trace.objects.get(question=question)
    assert trace.original_name == "run.rank0.trace"
    (rank1,) = TraceRankFile.objects.filter(trace=trace)
    assert rank1.rank == 1 and rank1.size_bytes == (tmp_path / "run.rank1.trace").stat().st_size
    assert "Uploading run.rank0.trace + 1 rank(s) [" in err
    assert no_diagnosis == [trace.pk]


def test_several_rank_files_named_go_in_rank_order(tmp_path):
    for rank in (0, 1, 2):
        (tmp_path / f"run.rank{rank}.trace").write_bytes(b"x")
    given = [tmp_path / f"run.rank{rank}.trace" for rank in (2, 0, 1)]
    first, others = upload._trace_and_ranks(given)
    assert first.name == "run.rank0.trace"
    assert [p.name for p in others] == ["run.rank1.trace", "run.rank2.trace"]
    single = tmp_path / "single.trace"
    single.write_bytes(b"x")
    assert upload._trace_and_ranks([single]) == (single, [])
