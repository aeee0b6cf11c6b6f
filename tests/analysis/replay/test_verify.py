"""Replaying a recorded model: the diagnosis is reproduced (or the replay says it is not and
verifies nothing), each candidate fix gets a verdict from the same engine, the best first;
loop bugs are verified from the recorded events without a re-run."""

import dataclasses
import json

import pytest
import torch
from torch import nn

import traces
from analysis import diagnose
from analysis.__main__ import main
from analysis.replay.verify import VERDICTS, verify
from tests.analysis.helpers import synthetic_trace

FIX_KEYS = {"finding", "fix", "title", "verdict", "before", "after", "diff"}


def _record(path, model, batch, target, loss_fn, *, steps, lr=0.1, optimizer=torch.optim.SGD):
    opt = optimizer(model.parameters(), lr=lr)
    with traces.record(path):
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(model(batch), target).backward()
            opt.step()
    return traces.load(path)


@pytest.fixture(scope="module")
def sigmoid_trace(tmp_path_factory):
    """A 12-layer sigmoid MLP: gradients vanish toward the input."""
    torch.manual_seed(24)
    layers = [nn.Linear(20, 32), nn.Sigmoid()]
    for _ in range(10):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(32, 1))
    x = torch.randn(128, 20)
    y = (x[:, 0] > 0).float().unsqueeze(1)
    path = tmp_path_factory.mktemp("replay") / "sigmoid.trace"
    return _record(path, model, x, y, nn.BCEWithLogitsLoss(), steps=30)


@pytest.mark.slow  # trains a 12-layer model several times
def test_vanishing_is_reproduced_and_relu_with_kaiming_init_is_verified(sigmoid_trace):
    assert "vanishing_gradients" in diagnose(sigmoid_trace).codes
    replay = verify(sigmoid_trace, steps=80)["replay"]
    assert replay["reproduced"] is True, replay["why"]
    assert replay["steps"] == 80
    fixes = replay["fixes"]
    assert {f["fix"] for f in fixes} >= {
        "relu_kaiming",
        "gelu_kaiming",
        "layer_norm",
        "kaiming_init",
    }
    for fix in fixes:
        assert set(fix) >= FIX_KEYS and fix["verdict"] in VERDICTS
    # Ranked best first.
    assert [VERDICTS.index(f["verdict"]) for f in fixes] == sorted(
        VERDICTS.index(f["verdict"]) for f in fixes
    )
    best = fixes[0]
    assert best["fix"] in ("relu_kaiming", "gelu_kaiming") and best["verdict"] == "resolves"
    assert best["before"]["present"] and not best["after"]["present"]
    assert best["after"]["figure_value"] > 1e3 * best["before"]["figure_value"]
    assert best["after"]["loss_end"] < best["before"]["loss_end"]
    # The diff names the user's own modules.
    assert "Sequential.1: nn.Sigmoid() → nn." in best["diff"]  # "model.1" when run as a script
    json.dumps(replay, allow_nan=False)


@pytest.mark.slow  # trains a 12-layer model several times
def test_a_replay_that_does_not_reproduce_the_figure_verifies_nothing(sigmoid_trace):
    diagnosis = diagnose(sigmoid_trace)
    (vanishing,) = [f for f in diagnosis.findings if f.code == "vanishing_gradients"]
    # A recorded figure six decades away from what the replay measures.
    evidence = dataclasses.replace(vanishing.evidence, value=vanishing.evidence.value * 1e6)
    tampered = dataclasses.replace(
        diagnosis, findings=(dataclasses.replace(vanishing, evidence=evidence),)
    )
    replay = verify(sigmoid_trace, tampered, steps=40)["replay"]
    assert replay["reproduced"] is False
    assert "does not reproduce" in replay["why"] and "nothing verified" in replay["why"]
    assert replay["fixes"] == []


@pytest.mark.slow  # trains a 12-layer model several times
def test_a_replay_judged_by_another_rule_compares_the_figure_on_every_row(sigmoid_trace):
    """When another rule of the detector fired on the recording, the two statistics do not
    compare; the figure measured the same way on every row of both runs does."""
    diagnosis = diagnose(sigmoid_trace)
    (vanishing,) = [f for f in diagnosis.findings if f.code == "vanishing_gradients"]
    evidence = dataclasses.replace(
        vanishing.evidence, value=vanishing.evidence.value * 1e6, statistic="another rule's"
    )
    tampered = dataclasses.replace(
        diagnosis, findings=(dataclasses.replace(vanishing, evidence=evidence),)
    )
    replay = verify(sigmoid_trace, tampered, steps=40)["replay"]
    assert replay["reproduced"] is True, replay["why"]
    # A recording whose first layer's gradient was never near what the replay measures.
    first = next(i for i, p in enumerate(sigmoid_trace.params) if len(p.shape) >= 2)
    norms = sigmoid_trace.steps.fresh_grad_norm.copy()
    norms[:, first] *= 1e6
    steps = dataclasses.replace(sigmoid_trace.steps, fresh_grad_norm=norms)
    far = dataclasses.replace(sigmoid_trace, steps=steps)
    replay = verify(far, tampered, steps=40)["replay"]
    assert replay["reproduced"] is False and "does not reproduce" in replay["why"]


class _DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, x):
        if x.sum() > 0:
            return self.linear(x)
        return self.linear(-x)


def test_a_program_that_could_not_be_captured_says_why(tmp_path):
    trace = _record(
        tmp_path / "run.trace",
        _DataDependent(),
        torch.ones(8, 4),
        torch.zeros(8, 1),
        nn.MSELoss(),
        steps=30,
        lr=50.0,
    )
    diagnosis = diagnose(trace)
    assert {"lr_too_high", "non_finite", "exploding_gradients"} & set(diagnosis.codes)
    replay = verify(trace, diagnosis, steps=20)["replay"]
    assert replay["reproduced"] is False and replay["fixes"] == []
    assert replay["why"].startswith("replay unavailable: the recorder could not capture")
    assert "torch.export failed" in replay["why"]


def test_missing_zero_grad_is_verified_from_the_recorded_events_without_a_program():
    trace = synthetic_trace(num_steps=20, clear="never")
    assert trace.program is None
    replay = verify(trace, steps=50)["replay"]
    (fix,) = replay["fixes"]
    assert fix["finding"] == "missing_zero_grad" and fix["verdict"] == "resolves"
    assert fix["verified_by"] == "recorded_events" and "no re-run" in fix["title"]
    assert fix["before"]["windows_without_clear"] > 0
    assert fix["before"]["accumulated_over_fresh_grad"] > 1.5
    assert fix["after"]["accumulated_over_fresh_grad"] == 1.0
    assert "optimizer.zero_grad()" in fix["diff"]
    assert replay["reproduced"] is False and "recorded event order" in replay["why"]


def test_a_healthy_run_has_nothing_to_verify():
    replay = verify(synthetic_trace(num_steps=20), steps=10)["replay"]
    assert replay == replay | {"reproduced": False, "fixes": []}
    assert "no problem" in replay["why"]


@pytest.mark.slow  # trains a 12-layer model several times
def test_the_cli_prints_the_replay_as_json_and_text(sigmoid_trace, tmp_path, capsys):
    path = tmp_path / "run.trace"
    traces.save(sigmoid_trace, path)
    assert main(["replay", str(path), "--steps", "30", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["replay"]) >= {"reproduced", "why", "steps", "fixes"}
    assert data["replay"]["steps"] == 30
    assert main(["replay", str(path), "--steps", "30"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Replay (30 steps): ")


def test_the_cli_refuses_a_bad_step_count(tmp_path):
    path = tmp_path / "run.trace"
    traces.save(synthetic_trace(num_steps=3), path)
    with pytest.raises(SystemExit) as info:
        main(["replay", str(path), "--steps", "0"])
    assert info.value.code == 2


def test_the_engine_lr_factor_aims_where_its_finding_measured_healthy_runs(sigmoid_trace):
    # lr_too_high from an Adam-family run's first steps (engine 1.7.0) is judged against the
    # ratio healthy runs make at their first steps (1e-2), not the run-long 1e-3: the verified
    # factor must be the one the finding advises.
    from analysis.replay.fixes import candidates
    from analysis.replay.program import load_program

    program = load_program(sigmoid_trace.program.spec, sigmoid_trace.program.weights)

    def engine_factor(details):
        finding = {"code": "lr_too_high", "evidence": {"value": 0.6, "details": details}}
        (engine,) = [c for c in candidates(sigmoid_trace, program, finding)
                     if c.fix == "lr_engine"]  # fmt: skip
        return engine.setup.lr_factor

    assert engine_factor({}) == pytest.approx(0.002)  # 1e-3 / 0.6, rounded
    assert engine_factor({"first_steps_ratio": 0.6}) == pytest.approx(0.02)  # 1e-2 / 0.6
