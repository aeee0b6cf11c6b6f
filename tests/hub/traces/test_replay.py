"""Verified fixes in the thread: the replay task adds a "Verified fix" section to the bot post,
the API and webhooks carry it, and a trace that cannot be replayed says why. The service runs
the real sandbox (a forked, capped child); the end-to-end test runs a real Celery worker."""

import pytest
import torch
from django.test import override_settings
from torch import nn

import traces
from hub.api.models import EVENT_DIAGNOSIS_REPLAYED, WebhookDelivery, WebhookEndpoint
from hub.forum.models import Answer
from hub.traces import queue, services, tasks
from hub.traces.bot_post import REPLAY_PENDING, bot_post_body
from hub.traces.diagnosis import diagnosis_plots_render, trace_diagnose
from hub.traces.models import Diagnosis
from hub.traces.replay import diagnosis_replay_run
from tests.factories import question_make, user_make
from tests.hub.traces.pipeline_fixtures import upload, vanishing_trace_bytes, wait_for

STEPS = 30


def sigmoid_trace_bytes(tmp_path) -> bytes:
    """A recorded 12-layer sigmoid MLP (with its program): gradients vanish."""
    torch.manual_seed(24)
    layers = [nn.Linear(20, 32), nn.Sigmoid()]
    for _ in range(10):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(32, 1))
    x = torch.randn(128, 20)
    y = (x[:, 0] > 0).float().unsqueeze(1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "sigmoid.trace"
    with traces.record(path):
        for _ in range(30):
            optimizer.zero_grad()
            nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
            optimizer.step()
    return path.read_bytes()


def _replayed_question(monkeypatch):
    """An asker's question with a diagnosed trace whose replay has run here. Nothing is queued:
    a worker left running by an earlier test must not run the pipeline on its own."""
    for name in ("diagnose_trace_enqueue", "render_plots_enqueue", "replay_fixes_enqueue"):
        monkeypatch.setattr(queue, name, lambda *args, **kwargs: None)
    asker = user_make(prefix="asker")
    question = question_make(author=asker)
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    diagnosis = diagnosis_replay_run(diagnosis_id=trace_diagnose(trace_id=trace.pk).pk)
    return asker, question, trace, diagnosis


def test_the_replay_task_has_its_own_longer_limits_above_the_sandbox_budget():
    from hub.traces import sandbox

    task = tasks.replay_fixes
    assert task.name == "analysis.replay_fixes" and task.acks_late
    assert sandbox.REPLAY_TIMEOUT_SECONDS < task.soft_time_limit < task.time_limit


@pytest.mark.django_db
def test_the_post_says_fixes_are_being_verified_until_the_replay_lands():
    asker = user_make(prefix="asker")
    question = question_make(author=asker)
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    diagnosis = trace_diagnose(trace_id=trace.pk)
    assert not diagnosis.replay_done
    assert REPLAY_PENDING in bot_post_body(trace=trace, diagnosis=diagnosis)


@pytest.mark.django_db
@override_settings(TRACE_REPLAY_STEPS=STEPS)
def test_a_trace_without_a_program_gets_a_reason_not_a_verified_fix(monkeypatch):
    _, question, _, diagnosis = _replayed_question(monkeypatch)
    assert diagnosis.replay_done
    replay = diagnosis.replay["replay"]
    assert replay["reproduced"] is False and replay["fixes"] == []
    assert "no program" in replay["why"]
    answer = Answer.objects.get(question=question, is_automated=True)
    assert "### Verified fix" in answer.body and REPLAY_PENDING not in answer.body
    assert "Nothing verified" in answer.body
    assert "verified_fix" not in diagnosis.plots and "verified_fix.svg" not in answer.body
    # Run twice: nothing changes.
    assert diagnosis_replay_run(diagnosis_id=diagnosis.pk).replay == diagnosis.replay


@pytest.mark.slow  # trains a recorded model several times in the sandbox
@pytest.mark.django_db
@override_settings(TRACE_REPLAY_STEPS=STEPS)
def test_a_recorded_model_gets_its_verified_fix_in_the_post_the_api_and_webhooks(tmp_path, client):
    asker = user_make(prefix="asker")
    question = question_make(author=asker)
    WebhookEndpoint.objects.create(
        user=asker, url="https://hooks.example.com/x", secret="s", events=[EVENT_DIAGNOSIS_REPLAYED]
    )
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(sigmoid_trace_bytes(tmp_path)), question=question
    )
    diagnosis = diagnosis_replay_run(diagnosis_id=trace_diagnose(trace_id=trace.pk).pk)
    replay = diagnosis.replay["replay"]
    assert replay["reproduced"] is True, replay["why"]
    # 30 steps: the gradient is fixed at once, the loss may only start to fall ("partial").
    assert replay["fixes"][0]["verdict"] in ("resolves", "partial")
    answer = Answer.objects.get(question=question, is_automated=True)
    assert "### Verified fix" in answer.body and "verified: " in answer.body
    assert "nn.Sigmoid() → nn." in answer.body

    client.force_login(asker)
    data = client.get(f"/api/v1/traces/{trace.pk}/diagnosis/").json()
    assert data["replay"]["state"] == "done" and data["replay"]["reproduced"] is True
    assert data["replay"]["fixes"][0]["fix"] in ("relu_kaiming", "gelu_kaiming")

    delivery = WebhookDelivery.objects.get(event=EVENT_DIAGNOSIS_REPLAYED)
    assert delivery.payload["replay"]["state"] == "done"  # the body wraps it in "data"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_verifies_fixes_after_the_post_lands(celery_worker, tmp_path):
    asker = user_make(prefix="asker")
    question = question_make(author=asker)
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(sigmoid_trace_bytes(tmp_path)), question=question
    )
    diagnosis = wait_for(
        lambda: Diagnosis.objects.filter(trace=trace, replay_done=True).first(), timeout=240
    )
    assert diagnosis is not None, celery_worker.log_text()[-3000:]
    assert diagnosis.replay["replay"]["reproduced"] is True, diagnosis.replay
    answer = Answer.objects.get(question=question, is_automated=True)
    assert "### Verified fix" in answer.body and REPLAY_PENDING not in answer.body
    assert Answer.objects.filter(question=question).count() == 1


def _canned_replay(trace, diagnosis=None, *, steps):
    """What analysis.replay.verify returns for a replay whose top fix resolves the finding."""
    curve = [[i, 0.7 - 0.004 * i] for i in range(0, steps, 2)]
    figures = {"figure": "first/last layer gradient norm", "present": True, "steps": steps}
    return {
        "replay": {
            "reproduced": True,
            "why": "the replay reproduces vanishing_gradients",
            "steps": steps,
            "fixes": [
                {
                    "finding": "vanishing_gradients",
                    "fix": "relu_kaiming",
                    "title": "ReLU with Kaiming init",
                    "verdict": "resolves",
                    "before": {**figures, "figure_value": 3e-8, "losses": [[0, 0.7], [29, 0.7]]},
                    "after": {**figures, "figure_value": 0.4, "present": False, "losses": curve},
                    "diff": "model.1: nn.Sigmoid() → nn.ReLU()",
                }
            ],
        }
    }


@pytest.mark.django_db
@override_settings(TRACE_REPLAY_STEPS=STEPS)
def test_the_verified_fix_section_shows_its_before_after_plot(monkeypatch, client):
    # The sandbox is real (a forked child draws the plot); the replay's training is canned.
    monkeypatch.setattr("analysis.replay.verify.verify", _canned_replay)
    asker, question, trace, diagnosis = _replayed_question(monkeypatch)
    assert "plots" not in diagnosis.replay
    assert "<svg" in diagnosis.plots["verified_fix"]
    url = f"/traces/{trace.pk}/plots/verified_fix.svg"
    body = Answer.objects.get(question=question, is_automated=True).body
    assert body.index("### Verified fix") < body.index(f"]({url})")
    assert "### Plots" not in body.split("### Verified fix")[1]  # not listed twice

    # The plots task that lands after the replay keeps it, and lists only its own plots.
    diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    diagnosis.refresh_from_db()
    assert {"gradient_flow", "verified_fix"} <= set(diagnosis.plots)
    body = Answer.objects.get(question=question, is_automated=True).body
    plots_section = body.split("### Plots")[1].split("### Verified fix")[0]
    assert "gradient_flow.svg" in plots_section and url not in plots_section
    assert body.index("### Verified fix") < body.index(f"]({url})")

    client.force_login(asker)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
    assert b"as recorded (no fix)" in response.content
    page = client.get(trace.get_absolute_url()).content.decode()
    assert f'src="{url}"' in page
    data = client.get(f"/api/v1/traces/{trace.pk}/diagnosis/").json()
    assert "verified_fix" in {plot["name"] for plot in data["plots"]}
    assert data["replay"]["fixes"][0]["after"]["losses"][0] == [0, 0.7]


@pytest.mark.django_db
@override_settings(TRACE_REPLAY_STEPS=STEPS)
def test_a_replay_plot_that_cannot_be_drawn_leaves_the_verdicts(monkeypatch):
    def broken(result):
        raise ValueError("no plot")

    monkeypatch.setattr("analysis.replay.verify.verify", _canned_replay)
    monkeypatch.setattr("analysis.plots.verified_fix_svg", broken)
    _, question, _, diagnosis = _replayed_question(monkeypatch)
    assert diagnosis.replay["replay"]["fixes"][0]["verdict"] == "resolves"
    assert "verified_fix" not in diagnosis.plots
    body = Answer.objects.get(question=question, is_automated=True).body
    assert "verified: ReLU with Kaiming init" in body and "verified_fix.svg" not in body
