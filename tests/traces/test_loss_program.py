"""A loss written by hand is recorded as a program: the autograd path from the loss back to the
model's output, as allowlisted ops with their arguments, the target as a summary (never its
values), constants as numbers; a path that cannot be written as data is ``unknown`` with the
reason."""

import json

import numpy as np
import torch
from torch import nn

import traces
from analysis.replay.loss_program import load_loss_program, run_loss


def _record(tmp_path, model, batch, target, loss_fn, *, steps=2):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with traces.record(tmp_path / "run.trace"):
        for _ in range(steps):
            optimizer.zero_grad()
            loss_fn(model(batch), target).backward()
            optimizer.step()
    return traces.load(tmp_path / "run.trace").program.spec["loss"]


def _ops(loss: dict) -> list[str]:
    return [n["op"] for n in loss["program"]["nodes"] if n["kind"] == "call_function"]


def _replayed(loss: dict, outputs: list, targets: dict) -> torch.Tensor:
    program = load_loss_program(json.loads(json.dumps(loss["program"])))
    return run_loss(program, outputs, targets)


def _hand_ce(logits, y):
    probs = torch.softmax(logits, dim=1)
    return -(torch.log(probs[torch.arange(len(y)), y])).mean()


def test_a_hand_written_cross_entropy_is_recorded_as_a_program(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    loss = _record(tmp_path, model, x, y, _hand_ce)
    assert loss["kind"] == "program"
    assert _ops(loss) == [
        "aten._softmax.default",
        "aten.arange.default",
        "aten.index.Tensor",
        "aten.log.default",
        "aten.mean.default",
        "aten.neg.default",
    ]
    inputs = loss["program"]["inputs"]
    assert [i["kind"] for i in inputs] == ["output", "target"]
    target = inputs[1]
    assert target == {"node": target["node"], "kind": "target", "shape": [16], "dtype": "int64"} | {
        "min": int(y.min()),
        "max": int(y.max()),
    }
    # what the replay rebuilds computes the user's loss
    logits = torch.randn(16, 3)
    value = _replayed(loss, [logits], {target["node"]: y})
    assert torch.allclose(value, _hand_ce(logits, y))


def test_a_one_hot_target_is_recorded_as_one_hot_not_as_values(tmp_path):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 3))
    x, y = torch.randn(10, 4), torch.randint(0, 3, (10,))
    onehot = nn.functional.one_hot(y, 3).float()

    def loss_fn(out, t):
        return -(t * torch.log(torch.softmax(out, -1))).sum(-1).mean()

    loss = _record(tmp_path, model, x, onehot, loss_fn)
    target = next(i for i in loss["program"]["inputs"] if i["kind"] == "target")
    assert target["form"] == "one_hot" and target["shape"] == [10, 3]
    text = json.dumps(loss)
    assert "values" not in text and len(text) < 3000
    # dim=-1, which autograd hands back as 2**64 - 1, is written as -1
    logits = torch.randn(10, 3)
    assert torch.allclose(
        _replayed(loss, [logits], {target["node"]: onehot}), loss_fn(logits, onehot)
    )


def test_a_head_between_the_exported_model_and_a_known_loss_joins_the_loss_program(tmp_path):
    """``mse(head(rnn(x)[0][:, -1]), y)`` with the head a module of its own: the exported
    model is the RNN (the optimizer trains most of its parameters), so the loss program holds
    the head's ops and its parameters' initial values."""
    torch.manual_seed(5)
    rnn, head = nn.RNN(3, 8, batch_first=True), nn.Linear(8, 1)
    x, y = torch.randn(4, 5, 3), torch.randn(4, 1)
    start = {k: v.clone() for k, v in head.state_dict().items()}
    opt = torch.optim.SGD([*rnn.parameters(), *head.parameters()], lr=0.1)
    with traces.record(tmp_path / "run.trace"):
        for _ in range(2):
            opt.zero_grad()
            nn.functional.mse_loss(head(rnn(x)[0][:, -1]), y).backward()
            opt.step()
    program = traces.load(tmp_path / "run.trace").program
    loss = program.spec["loss"]
    assert loss["kind"] == "program" and loss["stands_for"] == "mse"
    assert "aten.addmm.default" in _ops(loss) and "aten.mse_loss.default" in _ops(loss)
    params = [i for i in loss["program"]["inputs"] if i["kind"] == "parameter"]
    stored = {
        tuple(program.weights[p["target"]].shape): program.weights[p["target"]] for p in params
    }
    assert np.array_equal(stored[(1,)], start["bias"].numpy())
    assert np.array_equal(stored[(1, 8)], start["weight"].numpy())
    state = {p["target"]: torch.from_numpy(program.weights[p["target"]]) for p in params}
    out = torch.randn(4, 5, 8)
    target = next(i["node"] for i in loss["program"]["inputs"] if i["kind"] == "target")
    head.load_state_dict(start)
    value = run_loss(load_loss_program(loss["program"]), [out], {target: y}, state)
    assert torch.allclose(value, nn.functional.mse_loss(head(out[:, -1]), y))


def test_a_known_loss_with_a_regulariser_on_the_model_keeps_its_name(tmp_path):
    model = nn.Linear(4, 3)
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))

    def loss_fn(out, t):
        return nn.functional.cross_entropy(out, t) + 0.01 * model.weight.pow(2).sum()

    loss = _record(tmp_path, model, x, y, loss_fn)
    assert loss["kind"] == "cross_entropy" and "program" not in loss


def test_a_gaussian_nll_with_a_sqrt_and_a_target_autograd_does_not_keep(tmp_path):
    """``y - mu``: autograd keeps neither side of a sub; the target is recovered from the
    result the pow saved and the model's output, as a summary."""
    torch.manual_seed(2)

    class MeanVar(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(3, 8)
            self.mean, self.var = nn.Linear(8, 1), nn.Linear(8, 1)
            nn.init.constant_(self.var.bias, 1.0)

        def forward(self, x):
            h = torch.tanh(self.body(x))
            return self.mean(h), self.var(h)

    x = torch.randn(32, 3)
    y = 3.0 + 2.0 * torch.randn(32, 1)

    def nll(out, t):
        mu, var = out
        std = torch.sqrt(var)
        return (torch.log(std) + (t - mu) ** 2 / (2 * std**2)).mean()

    model = MeanVar()
    loss = _record(tmp_path, model, x, y, lambda out, t: nll(out, t), steps=1)
    assert loss["kind"] == "program"
    assert "aten.sqrt.default" in _ops(loss) and "aten.pow.Tensor_Scalar" in _ops(loss)
    inputs = loss["program"]["inputs"]
    assert sorted(i["index"] for i in inputs if i["kind"] == "output") == [0, 1]
    (target,) = [i for i in inputs if i["kind"] == "target"]
    assert target["shape"] == [32, 1]
    assert abs(target["mean"] - float(y.mean())) < 1e-4
    assert abs(target["std"] - float(y.std())) < 1e-4
    # the constant 2 is a number in the program, not a target
    assert any(n.get("op") == "aten.scalar_tensor.default" for n in loss["program"]["nodes"])
    outs = [torch.randn(32, 1), torch.rand(32, 1) + 0.5]
    value = _replayed(loss, outs, {target["node"]: y})
    assert torch.allclose(value, nll(outs, y))


def test_a_loss_that_cannot_be_written_as_data_is_unknown_with_the_reason(tmp_path):
    torch.manual_seed(3)
    model = nn.Linear(4, 6)
    x = torch.randn(8, 4)

    def sorted_loss(out, _):
        return out.sort(dim=1).values[:, 0].mean()

    loss = _record(tmp_path, model, x, None, sorted_loss)
    assert loss["kind"] == "unknown"
    assert loss["why"] == "the loss uses SortBackward0, which a replay does not rebuild"


def test_a_loss_reading_a_parameter_of_no_model_is_unknown(tmp_path):
    torch.manual_seed(4)
    model = nn.Linear(4, 2)
    scale = torch.ones(1, requires_grad=True)  # in no module and no optimizer
    x = torch.randn(8, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with traces.record(tmp_path / "run.trace"):
        optimizer.zero_grad()
        (torch.log(torch.softmax(model(x), 1)) * scale).sum().backward()
        optimizer.step()
    loss = traces.load(tmp_path / "run.trace").program.spec["loss"]
    assert loss["kind"] == "unknown"
    assert "parameter" in loss["why"]


def test_a_known_loss_is_still_named_not_written_as_a_program(tmp_path):
    model = nn.Linear(4, 3)
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    loss = _record(tmp_path, model, x, y, nn.functional.cross_entropy)
    assert loss["kind"] == "cross_entropy" and "program" not in loss


def test_a_language_model_head_and_a_reshaped_cross_entropy_join_the_loss_program(tmp_path):
    """A trunk and a vocabulary head of their own, the logits reshaped for cross-entropy: the
    reshapes' shapes are read from the saved sizes around them, -100 (ignore_index), which
    autograd hands back unsigned, is signed again, and the program computes the user's loss."""
    torch.manual_seed(6)
    trunk = nn.Sequential(nn.Embedding(20, 16), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 16))
    head = nn.Linear(16, 20)
    tokens, y = torch.randint(0, 20, (3, 7)), torch.randint(0, 20, (3, 7))
    opt = torch.optim.SGD([*trunk.parameters(), *head.parameters()], lr=0.1)
    with traces.record(tmp_path / "run.trace"):
        opt.zero_grad()
        logits = head(trunk(tokens))
        nn.functional.cross_entropy(logits.reshape(-1, 20), y.reshape(-1)).backward()
        opt.step()
    program = traces.load(tmp_path / "run.trace").program
    loss = program.spec["loss"]
    assert loss["kind"] == "program" and loss["stands_for"] == "cross_entropy"
    nll = next(n for n in loss["program"]["nodes"] if n.get("op") == "aten.nll_loss.default")
    assert nll["args"][-1] == -100
    inputs = loss["program"]["inputs"]
    state = {
        i["target"]: torch.from_numpy(program.weights[i["target"]])
        for i in inputs
        if i["kind"] == "parameter"
    }
    target = next(i["node"] for i in inputs if i["kind"] == "target")
    with torch.no_grad():
        torch.manual_seed(7)
        fresh = nn.Linear(16, 20)
        fresh.weight.copy_(next(v for v in state.values() if v.dim() == 2))
        fresh.bias.copy_(next(v for v in state.values() if v.dim() == 1))
        hidden = torch.randn(3, 7, 16)
        expected = nn.functional.cross_entropy(fresh(hidden).reshape(-1, 20), y.reshape(-1))
        value = run_loss(
            load_loss_program(loss["program"]), [hidden], {target: y.reshape(-1)}, state
        )
    assert torch.allclose(value, expected)
