"""The program chunks: the forward as data, the initial weights, the loss and the inputs'
statistics, taken once at the first step; a forward that cannot be exported is named as such
and the rest of the trace is as before; version 1 files still load."""

import struct

import numpy as np
import pytest
import torch
from torch import nn

import traces
from traces import format as fmt
from traces.model import Program
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
        (lambda out, y: (out - y).pow(3).mean(), torch.randn(8, 3), "unknown"),
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
