"""The program chunks: the forward as data, the initial weights, the loss and the inputs'
statistics, taken once at the first step; a forward that cannot be exported is named as such
and the rest of the trace is as before; version 1 files still load."""

import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import traces
from traces import format as fmt
from traces.model import Program
from traces.recorder import loss as loss_module
from traces.recorder import program as program_module
from traces.synthetic import synthetic_trace


def _record(tmp_path, model, batch, target, loss_fn, *, steps=3, lr=0.1):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    with traces.record(tmp_path / "run.trace"):
        for _ in range(steps):
            optimizer.zero_grad()
            loss_fn(model(batch), target).backward()
            optimizer.step()
    return traces.load(tmp_path / "run.trace")


def test_an_mlp_gets_its_program_initial_weights_loss_and_input_statistics(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 3))
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    batch = torch.randn(16, 4) * 2 + 1
    target = torch.randint(0, 3, (16,))
    trace = _record(tmp_path, model, batch, target, nn.CrossEntropyLoss())

    spec = trace.program.spec
    assert spec["status"] == "captured"
    ops = [n["op"] for n in spec["nodes"] if n["kind"] == "call_function"]
    assert ops == ["aten.linear.default", "aten.sigmoid.default", "aten.linear.default"]
    # The weights are those before the first step, not the trained ones.
    assert set(trace.program.weights) == set(initial)
    for name, value in initial.items():
        np.testing.assert_array_equal(trace.program.weights[name], value.numpy())
    assert not np.allclose(trace.program.weights["0.weight"], model[0].weight.detach().numpy())
    # Parameters point at the trace's own parameter rows; nodes at the trace's modules.
    names = [p.name for p in trace.params]
    params = [i for i in spec["inputs"] if i["kind"] == "parameter"]
    assert all(names[i["param"]].endswith("." + i["target"]) for i in params)
    paths = [trace.modules[n["module"]].path for n in spec["nodes"] if "module" in n]
    assert [path.rsplit(".", 1)[-1] for path in paths] == ["0", "1", "2"]
    (user,) = [i for i in spec["inputs"] if i["kind"] == "user_input"]
    assert user["shape"] == [16, 4] and user["dtype"] == "float32"
    assert user["mean"] == pytest.approx(float(batch.mean()), rel=1e-5)
    assert user["std"] == pytest.approx(float(batch.std()), rel=1e-5)
    assert spec["loss"]["kind"] == "cross_entropy"
    assert spec["loss"]["target"] == {"shape": [16], "dtype": "int64", "min": 0, "max": 2} | {
        "min": int(target.min()),
        "max": int(target.max()),
    }
    assert spec["optimizer"] == 0
    assert trace.version == 2


@pytest.mark.parametrize(
    ("loss_fn", "target", "kind"),
    [
        (nn.MSELoss(), torch.randn(8, 3), "mse"),
        (nn.L1Loss(), torch.randn(8, 3), "l1"),
        (nn.SmoothL1Loss(beta=0.5), torch.randn(8, 3), "smooth_l1"),
        (nn.BCEWithLogitsLoss(), torch.rand(8, 3).round(), "bce_with_logits"),
        (
            lambda out, y: nn.functional.binary_cross_entropy(out.sigmoid(), y),
            torch.rand(8, 3),
            "bce",
        ),
        (lambda out, y: nn.functional.nll_loss(out, y), torch.randint(0, 3, (8,)), "nll"),
        # none of the known kinds: written as a program (tests/traces/test_loss_program.py)
        (lambda out, y: (out - y).pow(3).mean(), torch.randn(8, 3), "program"),
    ],
)
def test_the_loss_is_named_from_the_autograd_graph(tmp_path, loss_fn, target, kind):
    model = nn.Sequential(nn.Linear(4, 3))
    trace = _record(tmp_path, model, torch.randn(8, 4), target, loss_fn, steps=1)
    assert trace.program.spec["loss"]["kind"] == kind


def test_a_loss_with_a_regulariser_added_is_still_named(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3))

    def loss_fn(out, y):
        return nn.functional.mse_loss(out, y) + 1e-3 * model[0].weight.pow(2).sum()

    trace = _record(tmp_path, model, torch.randn(8, 4), torch.randn(8, 3), loss_fn, steps=1)
    assert trace.program.spec["loss"]["kind"] == "mse"
    assert trace.program.spec["loss"]["direct"] is False


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_label_smoothed_cross_entropy_is_named_with_its_smoothing(tmp_path, reduction):
    # In autograd: (1 - s) * nll(log_softmax(x)) + (s / C) * smoothing term; neither branch alone
    # is the loss.
    model = nn.Sequential(nn.Linear(4, 5))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1, reduction=reduction)
    trace = _record(tmp_path, model, torch.randn(8, 4), torch.randint(0, 5, (8,)), loss_fn, steps=1)
    loss = trace.program.spec["loss"]
    assert loss["kind"] == "cross_entropy"
    assert loss["options"]["label_smoothing"] == pytest.approx(0.1, abs=1e-12)
    assert loss["direct"] is True and loss["reduction"] == reduction


def test_label_smoothing_that_cannot_be_read_is_recorded_as_unknown(monkeypatch):
    x = torch.randn(8, 5, requires_grad=True)
    loss = nn.functional.cross_entropy(x, torch.randint(0, 5, (8,)), label_smoothing=0.25)
    assert loss_module.identify_loss(loss)["options"]["label_smoothing"] == 0.25
    monkeypatch.setattr(loss_module, "_saved", lambda node, attribute: None)
    found = loss_module.identify_loss(loss)
    assert found["kind"] == "cross_entropy"
    assert found["options"] == {"label_smoothing": None}


def test_cross_entropys_ignore_index_is_recorded_signed():
    # autograd hands the saved int64 back unsigned (-100 as 2**64 - 100)
    x = torch.randn(4, 3, requires_grad=True)
    loss = nn.functional.cross_entropy(x, torch.tensor([0, 1, -100, 2]))
    assert loss_module.identify_loss(loss)["options"]["ignore_index"] == -100


def test_a_weighted_sum_of_two_losses_is_not_taken_for_label_smoothing():
    x = torch.randn(8, 5, requires_grad=True)
    y = torch.randint(0, 5, (8,))
    loss = 0.9 * nn.functional.cross_entropy(x, y) + 0.02 * x.pow(2).sum()
    assert "label_smoothing" not in loss_module.identify_loss(loss).get("options", {})


class _DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 1)

    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.export cannot write this as data
            return self.linear(x)
        return -self.linear(x)


def test_data_dependent_control_flow_says_why_and_the_trace_is_complete(tmp_path):
    trace = _record(tmp_path, _DataDependent(), torch.ones(8, 4), torch.zeros(8, 1), nn.MSELoss())
    spec = trace.program.spec
    assert spec["status"] == "unavailable"
    assert "torch.export failed" in spec["why"]
    assert trace.num_rows == 3 and trace.run.ended.value == "completed"
    assert not trace.program.weights
    assert "recorder_error" not in trace.extra


def test_weights_over_the_cap_are_kept_as_statistics(tmp_path, monkeypatch):
    monkeypatch.setattr(program_module, "PROGRAM_WEIGHT_BYTES", 100)
    original = program_module.export_program

    def small_cap(*args, **kwargs):
        return original(*args, **kwargs, weight_bytes=100)

    monkeypatch.setattr(program_module, "export_program", small_cap)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64))
    trace = _record(tmp_path, model, torch.randn(8, 64), torch.randn(8, 64), nn.MSELoss(), steps=1)
    spec = trace.program.spec
    assert spec["weights"] == "statistics" and not trace.program.weights
    assert spec["init"]["0.weight"]["std"] == pytest.approx(
        float(model[0].weight.detach().std(unbiased=False)), rel=0.2
    )


def test_an_export_error_of_ours_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(program_module, "export_program", broken)
    model = nn.Sequential(nn.Linear(4, 1))
    trace = _record(tmp_path, model, torch.randn(8, 4), torch.randn(8, 1), nn.MSELoss())
    assert trace.program.spec["status"] == "unavailable"
    assert "boom" in trace.program.spec["why"]
    assert trace.num_rows == 3 and "recorder_error" not in trace.extra


def test_the_export_leaves_the_users_model_and_random_stream_alone(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 1))
    batch, target = torch.randn(8, 4), torch.randn(8, 1)
    plain = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 1))
    plain.load_state_dict(model.state_dict())
    torch.manual_seed(1)
    _record(tmp_path, model, batch, target, nn.MSELoss(), steps=2)
    after_recorded = torch.rand(1)
    optimizer = torch.optim.SGD(plain.parameters(), lr=0.1)
    torch.manual_seed(1)
    for _ in range(2):
        optimizer.zero_grad()
        nn.MSELoss()(plain(batch), target).backward()
        optimizer.step()
    assert torch.equal(after_recorded, torch.rand(1))
    for (name, a), b in zip(model.state_dict().items(), plain.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_a_version_1_file_without_program_still_loads():
    trace = synthetic_trace()
    data = bytearray(fmt.dumps(trace))
    struct.pack_into("<I", data, 8, 1)  # header version 1
    data = bytes(data).replace(b'"version":2', b'"version":1')
    old = fmt.loads(data)
    assert old.version == 1 and old.program is None and old.num_rows == trace.num_rows


def test_a_program_round_trips_through_the_file():
    weights = {"0.weight": np.ones((2, 3), np.float32), "1.count": np.array(4, np.int64)}
    program = Program({"version": 1, "status": "captured", "nodes": []}, weights)
    trace = synthetic_trace()
    back = fmt.loads(fmt.dumps(type(trace)(**{**trace.__dict__, "program": program})))
    assert back.program.spec == program.spec
    np.testing.assert_array_equal(back.program.weights["0.weight"], weights["0.weight"])


@pytest.mark.parametrize(
    ("chunk", "error"),
    [
        (b"prog" + struct.pack("<Q", 3) + b"[1]", "prog chunk is not a JSON object"),
        (b"wini" + struct.pack("<Q", 4) + b"junk", "wini chunk is not valid safetensors"),
    ],
)
def test_a_malformed_program_chunk_is_refused_in_one_line(chunk, error):
    data = fmt.dumps(synthetic_trace()) + chunk
    with pytest.raises(fmt.TraceFormatError, match=error):
        fmt.loads(data)


# ---------------------------------------------------------------- the export off the training path


def _export_marking_its_process(original):
    """export_program that also says which process ran it."""

    def marked(*args, **kwargs):
        spec, weights = original(*args, **kwargs)
        spec["exported_by"] = os.getpid()
        return spec, weights

    return marked


def _mlp_run(tmp_path, name="run.trace", steps=3):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.BatchNorm1d(8), nn.Linear(8, 3))
    batch, target = torch.randn(16, 4), torch.randint(0, 3, (16,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with traces.record(tmp_path / name):
        for _ in range(steps):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(batch), target).backward()
            optimizer.step()
    return traces.load(tmp_path / name)


def test_the_export_runs_in_a_forked_child_not_on_the_training_path(tmp_path, monkeypatch):
    monkeypatch.setattr(
        program_module, "export_program", _export_marking_its_process(program_module.export_program)
    )
    trace = _mlp_run(tmp_path)
    assert trace.program.spec["status"] == "captured"
    assert trace.program.spec["exported_by"] != os.getpid()
    assert trace.num_rows == 3 and "recorder_error" not in trace.extra


def test_the_program_is_the_same_from_the_child_as_from_the_training_process(tmp_path, monkeypatch):
    child = _mlp_run(tmp_path, "child.trace")
    monkeypatch.setattr(program_module, "PROGRAM_IN_CHILD", False)
    inline = _mlp_run(tmp_path, "inline.trace")
    for trace in (child, inline):
        del trace.program.spec["capture_seconds"]
    assert child.program.spec == inline.program.spec
    assert set(child.program.weights) == set(inline.program.weights)
    for name, value in inline.program.weights.items():
        np.testing.assert_array_equal(child.program.weights[name], value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # A forked child cannot use CUDA: a process that initialised it exports in-process.
        ("cuda", True),
        # A large model would have its written pages copied while the child lives.
        ("PROGRAM_CHILD_MAX_STATE_BYTES", 100),
    ],
)
def test_with_cuda_or_a_large_model_the_export_stays_in_the_process(
    tmp_path, monkeypatch, name, value
):
    if name == "cuda":
        monkeypatch.setattr(torch.cuda, "is_initialized", lambda: value)
    else:
        monkeypatch.setattr(program_module, name, value)
    monkeypatch.setattr(
        program_module, "export_program", _export_marking_its_process(program_module.export_program)
    )
    trace = _mlp_run(tmp_path)
    assert trace.program.spec["exported_by"] == os.getpid()


def _export_in_a_child_only(body):
    """An export_program that runs ``body`` in the capture process (an error in the parent)."""
    parent = os.getpid()

    def export(*args, **kwargs):
        if os.getpid() == parent:
            raise AssertionError("exported on the training path")
        body()

    return export


def test_a_capture_process_that_dies_leaves_its_reason_and_a_complete_trace(tmp_path, monkeypatch):
    monkeypatch.setattr(
        program_module, "export_program", _export_in_a_child_only(lambda: os._exit(7))
    )
    trace = _mlp_run(tmp_path)
    spec = trace.program.spec
    assert spec["status"] == "unavailable"
    assert spec["why"] == "the program capture process ended without a program (exit code 7)"
    assert spec["optimizer"] == 0 and spec["loss"]["kind"] == "cross_entropy"
    assert trace.num_rows == 3 and trace.run.ended.value == "completed"


def test_a_capture_that_hangs_is_given_up_at_its_deadline(tmp_path, monkeypatch):
    hangs = _export_in_a_child_only(lambda: time.sleep(600))
    monkeypatch.setattr(program_module, "export_program", hangs)
    monkeypatch.setattr(program_module, "PROGRAM_CHILD_SECONDS", 1)
    trace = _mlp_run(tmp_path)
    assert trace.program.spec["why"] == "the program capture did not finish within 1 s"
    assert trace.num_rows == 3 and trace.run.ended.value == "completed"


def test_the_program_lands_in_the_file_while_the_run_goes_on(tmp_path):
    # Written at the first step after the child is done, not only at the end: a run killed
    # later still has it.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    batch, target = torch.randn(16, 4), torch.randn(16, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "run.trace"
    with traces.record(path) as recorder:
        steps = 0
        while steps < 2 or (recorder.program_child is not None and steps < 20_000):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(batch), target).backward()
            optimizer.step()
            steps += 1
            time.sleep(0.005)
        assert recorder.program_child is None
        assert b"prog" in path.read_bytes()
    assert traces.load(path).program.spec["status"] == "captured"


KILLED_RUN = """
import os, sys, torch, traces
from torch import nn
from traces.recorder import program
original = program.export_program
def slow(*args, **kwargs):
    import time; time.sleep(30)
    return original(*args, **kwargs)
program.export_program = slow
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
with traces.record(sys.argv[1]) as recorder:
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(torch.randn(8, 4)), torch.randn(8, 1)).backward()
        optimizer.step()
    recorder.stream.flush(recorder.meta(traces.model.RunEnd.RUNNING))
    os.kill(recorder.program_child.pid, 9)  # no orphan left behind by the test
    os._exit(3)  # killed before the capture finished: no final META, no program
"""


def test_a_run_killed_before_the_capture_finished_leaves_a_valid_trace(tmp_path):
    path = tmp_path / "killed.trace"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(path)], env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 3, done.stderr.decode()[-2000:]
    trace = traces.load(path)
    assert trace.num_rows == 3 and trace.run.ended.value == "running"
    assert trace.program is None


class _Batches(torch.utils.data.Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        generator = torch.Generator().manual_seed(i)
        return torch.randn(4, generator=generator), torch.randn(1, generator=generator)


def test_dataloader_workers_and_the_capture_process_do_not_disturb_each_other(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = torch.utils.data.DataLoader(_Batches(), batch_size=8, num_workers=2)
    with traces.record(tmp_path / "run.trace"):
        for _ in range(2):  # the second epoch forks new workers while the capture may run
            for x, y in loader:
                optimizer.zero_grad()
                nn.functional.mse_loss(model(x), y).backward()
                optimizer.step()
    trace = traces.load(tmp_path / "run.trace")
    assert trace.program.spec["status"] == "captured"
    assert trace.num_rows == 16 and trace.run.ended.value == "completed"
