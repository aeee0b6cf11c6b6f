"""How faithfully a replay stands in for the recorded run: the engine must see the replay's model
as it saw the user's (its containers, its hidden and output layers), the synthetic batches must
pose a task the model can learn, and the verdicts and ranking must say what a fix really did."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

import traces
from analysis import diagnose
from analysis.replay.execute import Batches, loss_of
from analysis.replay.program import ProgramError, load_program
from analysis.replay.report import before_after
from analysis.replay.train import Setup, run
from analysis.replay.verify import _rank, _reproduces, verify


def _record(path, model, make_batch, loss_fn, *, steps, lr, optimizer=torch.optim.SGD):
    opt = optimizer(model.parameters(), lr=lr)
    with traces.record(path):
        for step in range(steps):
            x, y = make_batch(step)
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
    return traces.load(path)


@pytest.fixture(scope="module")
def saturated_trace(tmp_path_factory):
    """A hidden sigmoid fed inputs of scale 50: its outputs sit at 0 or 1."""
    torch.manual_seed(33)
    x_all = torch.randn(512, 8) * 50
    y_all = (x_all[:, 0] > 0).float().unsqueeze(1)
    model = nn.Sequential(
        nn.Linear(8, 32), nn.Sigmoid(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1)
    )

    def batch(step):
        idx = torch.randint(0, 512, (64,))
        return x_all[idx], y_all[idx]

    path = tmp_path_factory.mktemp("fidelity") / "saturated.trace"
    # A functional loss: the model is the run's only module, its path "" as in a script.
    loss = nn.functional.binary_cross_entropy_with_logits
    return _record(path, model, batch, loss, steps=40, lr=1e-3, optimizer=torch.optim.Adam)


def test_the_replay_keeps_the_models_containers(saturated_trace):
    """The engine tells a hidden activation from the output one through the top-level model;
    a replay that dropped the container made every layer its own model."""
    program = load_program(saturated_trace.program.spec, saturated_trace.program.weights)
    replay = run(saturated_trace, Setup(program), steps=5).trace
    paths = {m.path for m in replay.modules}
    assert paths == {"", "0", "1", "2", "3", "4"}
    recorded = {m.path: m.order for m in saturated_trace.modules}
    assert all(m.order == recorded[m.path] for m in replay.modules)


def test_a_saturated_hidden_sigmoid_is_reproduced(saturated_trace):
    assert "saturated_activations" in diagnose(saturated_trace).codes
    replay = verify(saturated_trace, steps=40)["replay"]
    assert replay["reproduced"] is True, replay["why"]
    assert "saturated_activations" in replay["why"].split(";")[0]


def _batches(summary: dict, target: dict, kind: str = "cross_entropy") -> Batches:
    program = SimpleNamespace(
        inputs=[SimpleNamespace(kind="user_input", summary=summary)],
        loss={"kind": kind, "target": target},
    )
    return Batches(program, seed=0)


def test_an_image_models_synthetic_labels_do_not_depend_on_where_things_are():
    """A convolutional net pools over positions: a teacher reading single pixels poses a task
    it cannot learn (the loss stayed at ln 2 for every fix). Shifted images keep their label."""
    batches = _batches(
        {"shape": [64, 3, 8, 8], "dtype": "float32", "mean": 0.0, "std": 1.0},
        {"shape": [64], "dtype": "int64", "min": 0, "max": 1},
    )
    x = batches.inputs()[0]
    labels = batches._target(x, (64, 2))
    shifted = batches._target(torch.roll(x, shifts=(3, 5), dims=(2, 3)), (64, 2))
    assert torch.equal(labels, shifted)
    assert 0.2 < labels.float().mean() < 0.8  # both classes


def test_a_token_models_synthetic_labels_read_the_tokens_not_their_ids_as_numbers():
    batches = _batches(
        {"shape": [32, 12], "dtype": "int64", "min": 0, "max": 39},
        {"shape": [32], "dtype": "int64", "min": 0, "max": 1},
    )
    x = batches.inputs()[0]
    labels = batches._target(x, (32, 2))
    shuffled = batches._target(x[:, torch.randperm(12)], (32, 2))
    assert torch.equal(labels, shuffled)
    assert 0.2 < labels.float().mean() < 0.8


def test_a_fix_that_clears_the_cause_outranks_one_that_hides_a_symptom():
    """Clipping clears a too-high learning rate's exploding gradients with the lower loss; the
    lower learning rate clears them and the rate finding and the dead units: it ranks first."""

    def entry(finding, fix, clears, loss):
        return {
            "finding": finding,
            "fix": fix,
            "verdict": "resolves",
            "clears": clears,
            "after": {"loss_end": loss},
        }

    clip = entry("exploding_gradients", "clip_1", ["exploding_gradients"], 0.2)
    lower = entry(
        "lr_too_high", "lr_div10", ["lr_too_high", "exploding_gradients", "dead_relu"], 0.3
    )
    partial = dict(entry("lr_too_high", "lr_x10", [], 0.1), verdict="partial")
    assert sorted([partial, clip, lower], key=_rank) == [lower, clip, partial]


def test_dead_units_from_a_learning_rate_spike_are_fixed_by_the_schedule_without_it(tmp_path):
    """Two warm-up steps at 30x the rate kill most ReLUs; ÷ 10 everywhere also clears them but
    slows every later step, so the loss ends higher: the schedule without its spike is the fix."""
    torch.manual_seed(44)
    model = nn.Sequential(
        nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1)
    )
    x_all = torch.randn(512, 10)
    y_all = x_all[:, :3].sum(dim=1, keepdim=True) + 5
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with traces.record(tmp_path / "run.trace"):
        for step in range(40):
            for group in opt.param_groups:
                group["lr"] = 0.3 if step < 2 else 0.01
            idx = torch.randint(0, 512, (64,))
            opt.zero_grad()
            nn.functional.mse_loss(model(x_all[idx]), y_all[idx]).backward()
            opt.step()
    trace = traces.load(tmp_path / "run.trace")
    assert "dead_relu" in diagnose(trace).codes
    fixes = verify(trace)["replay"]["fixes"]
    best = fixes[0]
    assert (best["finding"], best["fix"], best["verdict"]) == (
        "dead_relu",
        "lr_no_spike",
        "resolves",
    )
    assert "0.3 (2 of 40 recorded steps above 0.01) → at most 0.01" in best["diff"]
    lower = next(f for f in fixes if f["fix"] == "lr_div10")
    assert lower["after"]["loss_end"] > best["after"]["loss_end"]


def test_a_divergence_is_reproduced_however_many_rows_follow_it():
    """How many rows come after a run turns non-finite depends on how long it goes on (a replay
    stops early), not on the problem: the same finding is enough."""
    statistic = "rows with a non-finite loss, gradient or weight"
    recorded = {"code": "non_finite", "evidence": {"value": 2.0, "statistic": statistic}}
    replayed = SimpleNamespace(
        findings=[
            SimpleNamespace(
                code="non_finite",
                severity=SimpleNamespace(value="error"),
                evidence=SimpleNamespace(value=60.0, statistic=statistic),
            )
        ]
    )
    assert _reproduces(recorded, replayed, None, None, 40)
    assert not _reproduces(recorded, SimpleNamespace(findings=[]), None, None, 40)


def test_the_report_says_which_other_findings_a_fix_clears():
    fix = {
        "finding": "lr_too_high",
        "fix": "lr_div10",
        "verdict": "resolves",
        "clears": ["lr_too_high", "exploding_gradients", "dead_relu"],
        "before": {"present": True, "loss_start": 0.7, "loss_end": 9.0, "steps": 200},
        "after": {"present": False, "loss_start": 0.7, "loss_end": 0.3, "steps": 200},
    }
    assert before_after(fix).endswith("finding gone; also clears exploding_gradients, dead_relu")


def test_a_label_smoothed_run_replays_with_that_smoothing(tmp_path, monkeypatch):
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))

    def batch(step):
        return torch.randn(32, 6), torch.randint(0, 4, (32,))

    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.2)
    trace = _record(tmp_path / "smooth.trace", model, batch, loss_fn, steps=3, lr=0.1)
    smoothing = []
    cross_entropy = nn.functional.cross_entropy

    def spy(*args, **kwargs):
        smoothing.append(kwargs.get("label_smoothing", 0.0))
        return cross_entropy(*args, **kwargs)

    monkeypatch.setattr(nn.functional, "cross_entropy", spy)
    replay = run(
        trace, Setup(program=load_program(trace.program.spec, trace.program.weights)), steps=3
    )
    assert len(replay.losses) == 3
    assert smoothing == [pytest.approx(0.2)] * 3


def test_a_cross_entropy_of_unknown_smoothing_is_not_replayed_as_another_loss():
    output, target = torch.randn(8, 4), torch.randint(0, 4, (8,))
    smoothed = loss_of("cross_entropy", {"label_smoothing": 0.3}, output, target)
    expected = nn.functional.cross_entropy(output, target, label_smoothing=0.3)
    assert float(smoothed) == pytest.approx(float(expected))
    for unknown in (None, "0.1", 1.5, float("nan"), True):
        with pytest.raises(ProgramError, match="label smoothing"):
            loss_of("cross_entropy", {"label_smoothing": unknown}, output, target)
