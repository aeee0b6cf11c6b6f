"""How faithfully a replay stands in for the recorded run: the engine must see the replay's model
as it saw the user's (its containers, its hidden and output layers), the synthetic batches must
pose a task the model can learn, and the verdicts and ranking must say what a fix really did."""

import pytest
import torch
from torch import nn

import traces
from analysis import diagnose
from analysis.replay.program import load_program
from analysis.replay.train import Setup, run
from analysis.replay.verify import verify


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
    trace = _record(path, model, batch, nn.BCEWithLogitsLoss(), steps=40, lr=1e-3,
                    optimizer=torch.optim.Adam)
    return trace


def test_the_replay_keeps_the_models_containers(saturated_trace):
    """The engine tells a hidden activation from the output one through the top-level model;
    a replay that dropped the container made every layer its own model."""
    program = load_program(saturated_trace.program.spec, saturated_trace.program.weights)
    replay = run(saturated_trace, Setup(program), steps=5).trace
    paths = [m.path for m in replay.modules]
    assert "" in paths and {"0", "1", "2", "3", "4"} <= set(paths)
    recorded = {m.path: m.order for m in saturated_trace.modules}
    assert all(m.order == recorded[m.path] for m in replay.modules)


def test_a_saturated_hidden_sigmoid_is_reproduced(saturated_trace):
    assert "saturated_activations" in diagnose(saturated_trace).codes
    replay = verify(saturated_trace, steps=40)["replay"]
    assert replay["reproduced"] is True, replay["why"]
    assert "saturated_activations" in replay["why"].split(";")[0]
