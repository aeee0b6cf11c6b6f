"""The Graph Matrix's numbers, computed with torch autograd.

A lesson's graph is plain data: leaves (`kind: input | param`, a `value`) and operations
(`op`, `inputs`). `graph_compute` builds it in float64, runs the backward pass and returns the
forward value and gradient of every node, the local derivative and the gradient flowing along
every edge, and the numeric answers the lesson's questions ask for. torch is imported here, on
first use only, so that pages never pay for it at import time (see hub/learn/selectors.py,
which stores the result in the database).
"""

import hashlib
import json


class GraphSpecError(ValueError):
    """The lesson's graph or answer spec is malformed (a content bug: named in the message)."""


def _ops():
    import torch

    return {
        # z = w·x + b, the neuron's pre-activation
        "affine": lambda w, x, b: w * x + b,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        # σ′(z) = σ(z)(1 − σ(z)): the factor a gradient is multiplied by through a sigmoid
        "sigmoid_slope": lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z)),
        # L = (prediction − target)²
        "squared_error": lambda prediction, target: (prediction - target) ** 2,
    }


def _leaves(nodes: list[dict]) -> dict:
    import torch

    return {
        node["id"]: torch.tensor(float(node["value"]), dtype=torch.float64, requires_grad=True)
        for node in nodes
        if "op" not in node
    }


def _forward(nodes: list[dict], leaves: dict) -> dict:
    ops = _ops()
    tensors = dict(leaves)
    for node in nodes:
        if "op" not in node:
            continue
        try:
            operation = ops[node["op"]]
            inputs = [tensors[name] for name in node["inputs"]]
        except KeyError as missing:
            raise GraphSpecError(f"graph node {node['id']!r}: unknown {missing}") from None
        tensors[node["id"]] = operation(*inputs)
    return tensors


def graph_checksum(*, graph: dict, answers: dict[str, dict]) -> str:
    payload = json.dumps({"graph": graph, "answers": answers}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def graph_compute(*, graph: dict, answers: dict[str, dict]) -> dict:
    """Values, gradients, edges and answers (keyed like `answers`) as plain floats."""
    import torch

    nodes = graph.get("nodes") or []
    output = graph.get("output")
    ids = [node["id"] for node in nodes]
    if output not in ids:
        raise GraphSpecError(f"graph output {output!r} is not one of its nodes")

    tensors = _forward(nodes, _leaves(nodes))
    for tensor in tensors.values():
        if not tensor.is_leaf:
            tensor.retain_grad()
    tensors[output].backward()
    values = {name: tensors[name].item() for name in ids}
    grads = {name: _float(tensors[name].grad) for name in ids}
    # Local derivatives on a fresh graph (autograd.grad would add to the retained .grad above).
    local_graph = _forward(nodes, _leaves(nodes))
    edges = []
    for node in nodes:
        for source in node.get("inputs", []):
            (local,) = torch.autograd.grad(
                local_graph[node["id"]], local_graph[source], retain_graph=True, allow_unused=True
            )
            edges.append({"source": source, "target": node["id"], "local": _float(local)})
    for edge in edges:
        # The share of ∂L/∂source that flows along this edge: ∂L/∂target · ∂target/∂source.
        edge["value"] = values[edge["source"]]
        edge["grad"] = grads[edge["target"]] * edge["local"]
    return {
        "values": values,
        "grads": grads,
        "edges": edges,
        "answers": {key: _answer(nodes, output, spec) for key, spec in answers.items()},
    }


def _float(tensor) -> float:
    return 0.0 if tensor is None else float(tensor.item())


def _answer(nodes: list[dict], output: str, spec: dict) -> float:
    """One numeric answer, computed the way PyTorch would in a training loop."""
    import torch

    kind = spec.get("kind")
    node = spec.get("node")
    leaves = _leaves(nodes)
    if kind == "value":
        return _forward(nodes, leaves)[node].item()
    if kind == "grad":
        tensors = _forward(nodes, leaves)
        if not tensors[node].is_leaf:
            tensors[node].retain_grad()
        tensors[output].backward()
        return _float(tensors[node].grad)
    if kind == "sgd_step":
        # One plain SGD step on that parameter: w ← w − lr · ∂L/∂w.
        optimizer = torch.optim.SGD([leaves[node]], lr=float(spec["lr"]))
        optimizer.zero_grad()
        _forward(nodes, leaves)[output].backward()
        optimizer.step()
        return leaves[node].item()
    if kind == "accumulated_grad":
        # `passes` forward/backward passes with no zero_grad() in between: .grad sums them.
        for _ in range(int(spec["passes"])):
            _forward(nodes, leaves)[output].backward()
        return _float(leaves[node].grad)
    raise GraphSpecError(f"unknown numeric answer kind {kind!r}")
