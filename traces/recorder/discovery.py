"""Discovery: the modules, parameters, optimizers and param groups a run trains, and their
names (paths in the module tree, or the script's global names of raw tensors)."""

from __future__ import annotations

import weakref

import torch

from traces.recorder.constants import GRAPH_WALK_NODES
from traces.recorder.state import TrackedGroup, TrackedModule, TrackedOptimizer, TrackedParam


class Discovery:
    """The part of ``Recorder`` that finds and names what is trained."""

    def _module_id(self, module: torch.nn.Module) -> int:
        index = self.module_index.get(id(module))
        if index is not None and self.modules[index].ref() is module:
            return index
        index = len(self.modules)
        self.modules.append(TrackedModule.of(module))
        self.module_index[id(module)] = index
        self.tree_dirty = True
        return index

    def _param_id(self, param: torch.Tensor, name: str, module: str) -> int:
        index = self.param_index.get(id(param))
        if index is not None and self.params[index].ref() is param:
            return index
        index = len(self.params)
        self.params.append(TrackedParam.of(param, name, module))
        self.param_index[id(param)] = index
        return index

    def _add_root(self, module: torch.nn.Module) -> None:
        original = getattr(module, "_orig_mod", None)  # torch.compile's OptimizedModule
        if isinstance(original, torch.nn.Module):
            module = original
        index = self._module_id(module)
        if index not in self.roots:
            self.roots.append(index)
            self.tree_dirty = True

    def _walk_roots(self) -> None:
        """Give every module and parameter under the top-level modules its path and name."""
        self.tree_dirty = False
        roots = [(i, self.modules[i].ref()) for i in self.roots]
        roots = [(i, m) for i, m in roots if m is not None]
        # A root that turns out to be inside another root is not a root.
        inside: set[int] = set()
        for _, root in roots:
            for sub in root.modules():
                if sub is not root:
                    inside.add(id(sub))
        roots = [(i, m) for i, m in roots if id(m) not in inside]
        self.roots = [i for i, _ in roots]
        prefixes = self._root_prefixes([m for _, m in roots])
        for (_, root), prefix in zip(roots, prefixes, strict=True):
            for path, sub in root.named_modules(remove_duplicate=True):
                full = _join(prefix, path)
                self.modules[self._module_id(sub)].path = full
            for name, param in root.named_parameters(remove_duplicate=True):
                owner = name.rpartition(".")[0]
                index = self._param_id(param, _join(prefix, name), _join(prefix, owner))
                self.params[index].name = _join(prefix, name)
                self.params[index].module = _join(prefix, owner)
                self.params[index].owner = self._module_id(root.get_submodule(owner))
        self.tree_dirty = False

    def _root_prefixes(self, roots: list[torch.nn.Module]) -> list[str]:
        if len(roots) == 1:
            return [""]
        names = _global_names(self.main_globals)
        out, used = [], set()
        for root in roots:
            base = names.get(id(root)) or type(root).__name__
            name, n = base, 1
            while name in used:
                name, n = f"{base}_{n}", n + 1
            used.add(name)
            out.append(name)
        return out

    def _optimizer_id(self, optimizer: torch.optim.Optimizer) -> int:
        index = self.optimizer_index.get(id(optimizer))
        if index is None or self.optimizers[index].ref() is not optimizer:
            index = len(self.optimizers)
            self.optimizers.append(
                TrackedOptimizer(weakref.ref(optimizer), type(optimizer).__name__)
            )
            self.optimizer_index[id(optimizer)] = index
        # param groups can be added at any time (add_param_group)
        known = sum(1 for group in self.groups if group.optimizer == index)
        for position in range(known, len(optimizer.param_groups)):
            group = optimizer.param_groups[position]
            g = len(self.groups)
            self.groups.append(TrackedGroup(index, position, _hyperparams(group)))
            for j, param in enumerate(group["params"]):
                p = self._param_id(param, f"optimizer{index}.group{position}.{j}", "")
                if self.params[p].optimizer is None:
                    self.params[p].optimizer, self.params[p].group = index, g
        return index

    def _walk_graph(self, tensors) -> None:
        """Find raw leaf tensors (not module parameters) through the autograd graph."""
        seen, todo, count = set(), [], 0
        for t in tensors:
            if isinstance(t, torch.Tensor) and t.grad_fn is not None:
                todo.append(t.grad_fn)
        while todo and count < GRAPH_WALK_NODES:
            node = todo.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            count += 1
            variable = getattr(node, "variable", None)
            if variable is not None:
                if id(variable) not in self.param_index:
                    name = _global_names(self.main_globals).get(id(variable))
                    self._param_id(variable, name or f"tensor{len(self.params)}", "")
                continue
            todo.extend(fn for fn, _ in node.next_functions if fn is not None)

    def _sync(self) -> None:
        if self.tree_dirty:
            self._walk_roots()


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and name else prefix or name


def _global_names(globals_: dict | None) -> dict[int, str]:
    if not globals_:
        return {}
    return {
        id(v): k
        for k, v in list(globals_.items())
        if isinstance(v, torch.nn.Module | torch.Tensor) and not k.startswith("_")
    }


def _hyperparams(group: dict) -> dict:
    out = {}
    for key, value in group.items():
        if key in ("params", "lr"):
            continue
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool | int | float | str | type(None)):
            out[key] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, int | float) for v in value):
            out[key] = list(value)
    return out
