"""A recorded loss program is loaded with the forward program's discipline: hostile loss
programs are refused with one line and never run; whatever loads calls only allowlisted ops.
And a replay trained with a hand-written loss reproduces the NaN that loss made."""

import copy
import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import traces
from analysis import diagnose
from analysis.replay import execute
from analysis.replay.loss_program import load_loss_program, run_loss
from analysis.replay.ops import ALLOWED_OPS
from analysis.replay.program import ProgramError, load_program
from analysis.replay.verify import verify
from tests.analysis.replay.test_program_loader import FUZZ, OPS, _spec, argument


def _loss_spec() -> dict:
    """-log(softmax(output)[arange(5), target]).mean(), as the recorder writes it."""
    return {
        "version": 1,
        "nodes": [
            {"name": "output_0", "kind": "placeholder", "shape": [5, 2], "dtype": "float32"},
            {"name": "target_0", "kind": "placeholder", "shape": [5]},
            {
                "name": "l0",
                "kind": "call_function",
                "op": "aten._softmax.default",
                "args": [{"node": "output_0"}, 1, False],
                "kwargs": {},
            },
            {
                "name": "l1",
                "kind": "call_function",
                "op": "aten.arange.default",
                "args": [5],
                "kwargs": {"dtype": {"dtype": "int64"}},
            },
            {
                "name": "l2",
                "kind": "call_function",
                "op": "aten.index.Tensor",
                "args": [{"node": "l0"}, [{"node": "l1"}, {"node": "target_0"}]],
                "kwargs": {},
            },
            {
                "name": "l3",
                "kind": "call_function",
                "op": "aten.log.default",
                "args": [{"node": "l2"}],
            },
            {
                "name": "l4",
                "kind": "call_function",
                "op": "aten.mean.default",
                "args": [{"node": "l3"}],
            },
            {
                "name": "l5",
                "kind": "call_function",
                "op": "aten.neg.default",
                "args": [{"node": "l4"}],
            },
            {"name": "loss", "kind": "output", "args": [{"node": "l5"}]},
        ],
        "inputs": [
            {"node": "output_0", "kind": "output", "index": 0},
            {
                "node": "target_0",
                "kind": "target",
                "shape": [5],
                "dtype": "int64",
                "min": 0,
                "max": 1,
            },
        ],
    }


def _with_loss(loss_program) -> tuple[dict, dict]:
    spec, weights = _spec()
    spec["loss"] = {"kind": "program", "direct": False, "program": loss_program}
    return spec, weights


def test_the_valid_loss_program_loads_into_the_program_and_computes_the_loss():
    program = load_program(*_with_loss(_loss_spec()))
    assert program.loss_program is not None
    logits, y = torch.randn(5, 2), torch.tensor([0, 1, 1, 0, 1])
    value = run_loss(program.loss_program, [logits], {"target_0": y})
    assert torch.allclose(value, nn.functional.cross_entropy(logits, y))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s["nodes"][4].update(op="builtins.eval"), "not on the allowlist"),
        (lambda s: s["nodes"][4].update(op="torch.load"), "not on the allowlist"),
        (lambda s: s["nodes"][5].update(args=[{"node": "l5"}]), "not defined before"),
        (lambda s: s["nodes"][5].update(args=[{"node": "nowhere"}]), "not defined before"),
        (lambda s: s["nodes"][3].update(args=[2**40]), "too large"),
        (
            lambda s: s["nodes"][3].update(kwargs={"dtype": {"dtype": "object"}}),
            "form we do not run",
        ),
        (lambda s: s["nodes"][5].update(args=[{"__reduce__": "os.system"}]), "form we do not run"),
        (lambda s: s["nodes"].pop(), "no output node"),
        (lambda s: s["nodes"][-1].update(args=[[{"node": "l5"}, {"node": "l4"}]]), "not one value"),
        (lambda s: s["inputs"].pop(), "placeholders"),
        (lambda s: s["inputs"][0].update(index=10**6), "output index"),
        (lambda s: s["inputs"][1].update(kind="pickle"), "unknown kind"),
        (lambda s: s["inputs"][1].update(dtype="object"), "unknown dtype"),
        (lambda s: s["inputs"][1].update(shape=[2**20, 2**20]), "over"),
        (lambda s: s["inputs"][1].update(form="exec"), "unknown form"),
        (lambda s: s.update(inputs=[s["inputs"][1]], nodes=s["nodes"][1:]), "not defined before"),
        (lambda s: s.update(version=2), "unknown loss program version"),
        (
            lambda s: s["inputs"][1].update(kind="parameter", target="0.weight", param=0),
            "outside the loss",
        ),
        (
            lambda s: s["inputs"][1].update(kind="parameter", target="loss.w", param=0),
            "no initial value",
        ),
        (lambda s: s["inputs"][1].update(kind="parameter", target="loss.w", param=-1), "index"),
        (lambda s: s.update(nodes=[0] * 10_000), "over the limit"),
    ],
)
def test_hostile_loss_programs_are_refused_in_one_line(edit, message):
    loss_program = copy.deepcopy(_loss_spec())
    edit(loss_program)
    with pytest.raises(ProgramError) as info:
        load_program(*_with_loss(loss_program))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_loss_program_that_is_not_an_object_is_refused():
    with pytest.raises(ProgramError, match="not a JSON object"):
        load_loss_program("lambda: __import__('os')")


def _fuzz_loss_one(loss_program) -> None:
    spec, weights = _with_loss(json.loads(json.dumps(loss_program, allow_nan=True)))
    try:
        program = load_program(spec, weights)
    except ProgramError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    lp = program.loss_program
    assert all(n.op in ALLOWED_OPS for n in lp.nodes if n.kind == "call_function")
    called = []

    def fake(name):
        assert name in ALLOWED_OPS
        called.append(name)
        return lambda *args, **kwargs: torch.zeros(1)

    original = execute._op
    execute._op = fake
    try:
        targets = {i.node: torch.zeros(1) for i in lp.inputs if i.kind == "target"}
        run_loss(lp, [torch.zeros(1)] * 64, targets)
    except ProgramError:
        pass
    finally:
        execute._op = original
    assert all(name in ALLOWED_OPS for name in called)


loss_node = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["output_0", "target_0", "l0", "l1", "l2", "loss", "x", ""]),
        "kind": st.sampled_from(["placeholder", "call_function", "output", "call_module"]),
        "op": st.sampled_from(OPS),
        "args": st.lists(argument, max_size=4),
        "kwargs": st.dictionaries(
            st.sampled_from(["dim", "dtype", "__class__"]), argument, max_size=2
        ),
    }
)


@FUZZ
@given(nodes=st.lists(loss_node, max_size=10))
def test_random_loss_graphs_are_refused_or_call_only_allowlisted_ops(nodes):
    loss_program = _loss_spec()
    loss_program["nodes"] = nodes
    _fuzz_loss_one(loss_program)


@FUZZ
@given(index=st.integers(0, 1), field=st.sampled_from(["kind", "index", "shape", "dtype", "form"]))
def test_one_edited_input_of_a_valid_loss_program_is_refused_or_harmless(index, field):
    loss_program = _loss_spec()
    loss_program["inputs"][index][field] = {"node": "os.system"}
    _fuzz_loss_one(loss_program)


def test_a_hand_written_log_softmax_loss_that_makes_nan_is_reproduced(tmp_path):
    """Unnormalised pixels (0..255): softmax underflows to exactly 0, log(0) = -inf, and the
    one-hot product 0 * -inf = NaN. The replay trains with the recorded loss program, so its
    loss is NaN too: non_finite is reproduced, not refused for want of a stand-in."""
    torch.manual_seed(17)
    x_all = torch.randint(0, 256, (400, 16)).float()
    y_all = (x_all[:, :8].mean(1) > x_all[:, 8:].mean(1)).long()
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with traces.record(tmp_path / "run.trace"):
        for _ in range(12):
            idx = torch.randint(0, 400, (32,))
            onehot = nn.functional.one_hot(y_all[idx], 2).float()
            loss = -(onehot * torch.log(torch.softmax(model(x_all[idx]), 1))).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    trace = traces.load(tmp_path / "run.trace")
    assert trace.program.spec["loss"]["kind"] == "program"
    findings = diagnose(trace)
    assert "non_finite" in findings.codes
    result = verify(trace, findings, steps=30)["replay"]
    assert result["reproduced"], result["why"]
    assert "non_finite" in result["why"]
