"""The program loader: hostile programs are refused with one line and never run; whatever
loads calls nothing outside the op allowlist."""

import copy
import json

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.replay import execute
from analysis.replay.ops import ALLOWED_OPS, resolve
from analysis.replay.program import ProgramError, load_program

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _spec() -> tuple[dict, dict]:
    """A small valid program: input -> linear -> sigmoid -> linear."""
    nodes = [
        {"name": "p_w0", "kind": "placeholder", "shape": [4, 3], "dtype": "float32"},
        {"name": "p_b0", "kind": "placeholder", "shape": [4], "dtype": "float32"},
        {"name": "p_w1", "kind": "placeholder", "shape": [2, 4], "dtype": "float32"},
        {"name": "input", "kind": "placeholder", "shape": [5, 3], "dtype": "float32"},
        {
            "name": "linear",
            "kind": "call_function",
            "op": "aten.linear.default",
            "args": [{"node": "input"}, {"node": "p_w0"}, {"node": "p_b0"}],
            "kwargs": {},
            "module": 1,
            "shape": [5, 4],
        },
        {
            "name": "sigmoid",
            "kind": "call_function",
            "op": "aten.sigmoid.default",
            "args": [{"node": "linear"}],
            "kwargs": {},
            "module": 2,
            "shape": [5, 4],
        },
        {
            "name": "linear_1",
            "kind": "call_function",
            "op": "aten.linear.default",
            "args": [{"node": "sigmoid"}, {"node": "p_w1"}],
            "kwargs": {},
            "module": 3,
            "shape": [5, 2],
        },
        {"name": "output", "kind": "output", "args": [[{"node": "linear_1"}]]},
    ]
    inputs = [
        {"node": "p_w0", "kind": "parameter", "target": "0.weight", "param": 0},
        {"node": "p_b0", "kind": "parameter", "target": "0.bias", "param": 1},
        {"node": "p_w1", "kind": "parameter", "target": "2.weight", "param": 2},
        {
            "node": "input",
            "kind": "user_input",
            "target": None,
            "shape": [5, 3],
            "dtype": "float32",
        },
    ]
    spec = {
        "version": 1,
        "status": "captured",
        "nodes": nodes,
        "inputs": inputs,
        "mutations": {},
        "weights": "stored",
        "optimizer": 0,
        "loss": {"kind": "mse", "target": {"shape": [5, 2], "dtype": "float32"}},
    }
    weights = {
        "0.weight": np.ones((4, 3), np.float32),
        "0.bias": np.zeros(4, np.float32),
        "2.weight": np.ones((2, 4), np.float32),
    }
    return spec, weights


def _refused(spec, weights=None) -> str:
    with pytest.raises(ProgramError) as info:
        load_program(spec, weights if weights is not None else _spec()[1])
    message = str(info.value)
    assert message and "\n" not in message
    return message


def test_the_valid_program_loads_and_runs():
    spec, weights = _spec()
    program = load_program(spec, weights)
    state = {k: torch.from_numpy(v.copy()) for k, v in weights.items()}
    outputs, modules = execute.forward(program, state, [torch.zeros(5, 3)])
    assert outputs[0].shape == (5, 2)
    assert torch.allclose(outputs[0], torch.full((5, 2), 2.0))  # sigmoid(0) * 4 ones
    assert set(modules) == {1, 2, 3}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s["nodes"][5].update(op="builtins.eval"), "not on the allowlist"),
        (
            lambda s: s["nodes"][5].update(op="aten.sigmoid.default; import os"),
            "not on the allowlist",
        ),
        (lambda s: s["nodes"][5].update(op="torch.load"), "not on the allowlist"),
        (lambda s: s["nodes"][5].update(kind="call_module"), "unknown kind"),
        (lambda s: s["nodes"][5].update(args=[{"node": "nowhere"}]), "not defined before"),
        (lambda s: s["nodes"][5].update(args=[{"node": "linear_1"}]), "not defined before"),
        (lambda s: s["nodes"][5].update(args=[{"node": "sigmoid"}]), "not defined before"),
        (lambda s: s["nodes"][4].update(shape=[2**20, 2**20]), "over"),
        (lambda s: s["nodes"][5].update(args=[{"node": "linear"}, [2**16, 2**16]]), "size over"),
        (lambda s: s["nodes"][5].update(args=[{"dtype": "object"}]), "form we do not run"),
        (lambda s: s["nodes"][5].update(args=[{"__reduce__": "os.system"}]), "form we do not run"),
        (lambda s: s["nodes"][5].update(kwargs={"__class__": 1, "x y": 2}), "invalid keyword"),
        (lambda s: s["nodes"].pop(), "no output node"),
        (
            lambda s: s["nodes"].insert(0, {"name": "o", "kind": "output", "args": []}),
            "not the last",
        ),
        (lambda s: s["nodes"].insert(1, dict(s["nodes"][0])), "defined twice"),
        (lambda s: s["inputs"].pop(0), "placeholders"),
        (
            lambda s: s.update(status="unavailable", why="torch.export failed (x)"),
            "could not capture",
        ),
        (lambda s: s.update(version=99), "unknown program version"),
        (lambda s: s.update(nodes="rm -rf /"), "not a list"),
        (lambda s: s.update(optimizer="SGD"), "names no optimizer"),
        (lambda s: s.update(mutations={"linear": "nowhere"}), "mutations"),
    ],
)
def test_hostile_programs_are_refused_in_one_line(edit, message):
    spec = copy.deepcopy(_spec()[0])
    edit(spec)
    assert message in _refused(spec)


def test_weights_that_do_not_match_or_are_missing_are_refused():
    spec, weights = _spec()
    assert "does not match" in _refused(spec, weights | {"0.weight": np.ones((3, 3), np.float32)})
    assert "no initial value" in _refused(spec, {k: v for k, v in weights.items() if k != "0.bias"})


def test_programs_over_the_caps_are_refused_with_the_reason(monkeypatch):
    from analysis.replay import program as program_module

    spec, weights = _spec()
    monkeypatch.setattr(program_module, "MAX_PARAMETERS", 10)
    assert "over the replay cap" in _refused(spec, weights)
    monkeypatch.setattr(program_module, "MAX_PARAMETERS", 10**9)
    monkeypatch.setattr(program_module, "MAX_FLOPS_PER_STEP", 10)
    assert "multiply-adds" in _refused(spec, weights)


def test_the_allowlist_resolves_nothing_else():
    for name in ("builtins.eval", "aten.linear", "os.system", "aten..default", "getattr"):
        with pytest.raises(KeyError):
            resolve(name)
    assert resolve("aten.linear.default") is torch.ops.aten.linear.default


# ---------------------------------------------------------------------------- fuzzing

HOSTILE_OPS = ["builtins.eval", "builtins.exec", "torch.load", "os.system", "aten.save.default"]
OPS = sorted(ALLOWED_OPS)[:40] + HOSTILE_OPS
NAMES = ["p_w0", "p_b0", "p_w1", "input", "linear", "sigmoid", "linear_1", "output", "x", ""]
literal = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(NAMES).map(lambda n: {"node": n}),
    st.sampled_from(["float32", "object", "int64"]).map(lambda d: {"dtype": d}),
    st.sampled_from(["cpu", "cuda"]).map(lambda d: {"device": d}),
)
argument = st.recursive(literal, lambda inner: st.lists(inner, max_size=4), max_leaves=8)
node = st.fixed_dictionaries(
    {
        "name": st.sampled_from(NAMES),
        "kind": st.sampled_from(["placeholder", "call_function", "output", "get_attr"]),
        "op": st.sampled_from(OPS),
        "args": st.lists(argument, max_size=4),
        "kwargs": st.dictionaries(
            st.sampled_from(["dim", "x", "__globals__"]), argument, max_size=2
        ),
        "module": st.integers(-2, 5),
        "shape": st.one_of(st.none(), st.lists(st.integers(0, 2**12), max_size=4)),
    }
)


def _run_with_recording_ops(program) -> list[str]:
    """Run a loaded program with every op replaced by a recorder of its name: what would
    have been called, without computing anything."""
    called = []

    def fake(name):
        assert name in ALLOWED_OPS  # resolve() would refuse anything else
        called.append(name)
        return lambda *args, **kwargs: torch.zeros(1)

    original = execute._op
    execute._op = fake
    try:
        state = {target: torch.zeros(1) for target in program.shapes}
        users = [torch.zeros(1) for i in program.inputs if i.kind == "user_input"]
        execute.forward(program, state, users)
    except ProgramError:
        pass
    finally:
        execute._op = original
    return called


def _fuzz_one(spec, weights) -> None:
    try:
        program = load_program(json.loads(json.dumps(spec, allow_nan=True)), weights)
    except ProgramError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert all(n.op in ALLOWED_OPS for n in program.nodes if n.kind == "call_function")
    assert all(name in ALLOWED_OPS for name in _run_with_recording_ops(program))


@FUZZ
@given(nodes=st.lists(node, max_size=12))
def test_random_graphs_are_refused_or_call_only_allowlisted_ops(nodes):
    spec, weights = _spec()
    spec["nodes"] = nodes
    _fuzz_one(spec, weights)


@FUZZ
@given(
    index=st.integers(0, 8),
    field=st.sampled_from(["op", "args", "kind", "name", "shape", "kwargs"]),
    value=st.one_of(argument, st.sampled_from(OPS)),
    in_loss=st.booleans(),
)
def test_one_edited_field_of_a_valid_program_is_refused_or_harmless(index, field, value, in_loss):
    """A field of the forward program's nodes, or of its hand-written loss's program."""
    if in_loss:
        from tests.analysis.replay import test_loss_program_loader as loss_tests

        loss_program = loss_tests._loss_spec()
        loss_program["nodes"][index][field] = value
        loss_tests._fuzz_loss_one(loss_program)
        return
    spec, weights = _spec()
    spec["nodes"][index % 8][field] = value
    _fuzz_one(spec, weights)
