"""The Graph Matrix numbers come from torch autograd; check them against the calculus."""

import math

import pytest

from hub.learn.graph import GraphSpecError, graph_compute


def _closed_form(x, w1, b1, w2, b2, y):
    z1 = w1 * x + b1
    a1 = 1 / (1 + math.exp(-z1))
    z2 = w2 * a1 + b2
    dz2 = 2 * (z2 - y)
    da1 = dz2 * w2
    dz1 = da1 * a1 * (1 - a1)
    return {
        "values": {"z1": z1, "a1": a1, "z2": z2, "L": (z2 - y) ** 2},
        "grads": {"z2": dz2, "w2": dz2 * a1, "b2": dz2, "a1": da1, "z1": dz1, "w1": dz1 * x,
                  "b1": dz1, "x": dz1 * w1, "y": -dz2},
    }  # fmt: skip


def test_values_and_gradients_match_the_chain_rule_by_hand(lesson_data):
    leaves = {n["id"]: n["value"] for n in lesson_data["graph"]["nodes"] if "value" in n}
    expected = _closed_form(**leaves)
    computed = graph_compute(graph=lesson_data["graph"], answers={})
    for table in ("values", "grads"):
        for node, value in expected[table].items():
            assert computed[table][node] == pytest.approx(value, rel=1e-9), (table, node)


def test_each_edge_carries_the_upstream_gradient_times_the_local_derivative(lesson_data):
    computed = graph_compute(graph=lesson_data["graph"], answers={})
    edges = {(e["source"], e["target"]): e for e in computed["edges"]}
    a1 = computed["values"]["a1"]
    assert edges[("z1", "a1")]["local"] == pytest.approx(a1 * (1 - a1))
    assert edges[("w2", "z2")]["grad"] == pytest.approx(computed["grads"]["w2"])
    # A node's gradient is the sum of what flows back along its outgoing edges.
    for node in computed["values"]:
        outgoing = [e["grad"] for e in computed["edges"] if e["source"] == node]
        if outgoing:
            assert sum(outgoing) == pytest.approx(computed["grads"][node]), node


def test_numeric_answers_follow_pytorch_semantics(lesson_data):
    answers = {
        "step": {"kind": "sgd_step", "node": "w1", "lr": 0.1},
        "twice": {"kind": "accumulated_grad", "node": "b1", "passes": 2},
        "grad": {"kind": "grad", "node": "z1"},
        "value": {"kind": "value", "node": "L"},
    }
    computed = graph_compute(graph=lesson_data["graph"], answers=answers)["answers"]
    grads = graph_compute(graph=lesson_data["graph"], answers={})["grads"]
    assert computed["step"] == pytest.approx(0.5 - 0.1 * grads["w1"])
    assert computed["twice"] == pytest.approx(2 * grads["b1"])
    assert computed["grad"] == pytest.approx(grads["z1"])


def test_a_malformed_graph_is_reported_by_name():
    graph = {"output": "L", "nodes": [{"id": "L", "op": "cube", "inputs": []}]}
    with pytest.raises(GraphSpecError, match="'L'"):
        graph_compute(graph=graph, answers={})
    with pytest.raises(GraphSpecError, match="output"):
        graph_compute(graph={"output": "nope", "nodes": []}, answers={})


def test_the_web_modules_do_not_import_torch():
    # Pages must not pay torch's import time: it is imported on the first computation only.
    import os
    import subprocess
    import sys

    code = (
        "import django, sys; django.setup(); "
        "import hub.learn.views, hub.glossary.views, hub.glossary.autolink, hub.learn.urls; "
        "import hub.learn.management.commands.load_learning_content; "
        "print('torch' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )  # fmt: skip
    assert completed.stdout.strip() == "False"
