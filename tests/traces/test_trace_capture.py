"""Real training scripts run under ``python -m traces.capture``; the trace must tell what happened.

The scripts live in tests/traces/scripts/. They all run once per session, in parallel (torch's
start-up dominates), and each test reads the trace and output of one of them.
"""

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import analysis
import traces
from traces.distributed import rank_files
from traces.model import EventKind, RunEnd

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
TIMEOUT = 180  # seconds per script: a few training steps plus ~3 s of torch import
RUNS = {
    # name: (script, script arguments)
    "healthy": ("healthy.py", ["5"]),
    "healthy_every_2": ("healthy.py", ["5"]),
    "missing_zero_grad": ("missing_zero_grad.py", []),
    "accumulation": ("accumulation.py", []),
    "zero_grad_before_step": ("zero_grad_before_step.py", []),
    "manual_sgd": ("manual_sgd.py", []),
    "gan": ("gan.py", []),
    "not_in_optimizer": ("not_in_optimizer.py", []),
    "crash": ("crash.py", []),
    "sys_exit": ("sys_exit.py", []),
    "sigterm": ("signal_stop.py", ["TERM"]),
    "ctrl_c": ("signal_stop.py", ["INT"]),
    "amp_scaler": ("amp_scaler.py", []),
    "dataloader_workers": ("dataloader_workers.py", []),
}


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


def _capture(name: str, workdir: Path):
    script, args = RUNS[name]
    out = workdir / f"{name}.trace"
    every = ["--every", "2"] if name.endswith("every_2") else []
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "traces.capture",
            "-o",
            str(out),
            *every,
            str(SCRIPTS / script),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        cwd=workdir,
    )
    return done, out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("capture")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(_capture, name, workdir) for name in RUNS}
        results = {name: future.result() for name, future in futures.items()}
    record_out = workdir / "record.trace"
    record = subprocess.run(
        [sys.executable, str(SCRIPTS / "record_context.py"), str(record_out)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        cwd=workdir,
    )
    results["record_context"] = (record, record_out)
    return results


def _load(runs, name):
    done, path = runs[name]
    assert path.exists(), done.stderr
    return done, traces.load(path)


def _events(trace, row):
    mask = trace.events.row == row
    return [EventKind(k).name for k in trace.events.kind[mask]]


def test_healthy_loop_records_every_step_in_order(runs):
    done, trace = _load(runs, "healthy")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("loss") == 5  # the script's own output passes through
    assert trace.run.ended is RunEnd.COMPLETED
    assert trace.run.command[1:] == ("5",) and trace.run.every == 1
    assert trace.num_rows == trace.run.total_steps == 5
    np.testing.assert_array_equal(trace.steps.step, np.arange(5))
    for row in range(5):
        assert _events(trace, row) == ["CLEAR", "FORWARD", "BACKWARD", "STEP"]
    assert trace.steps.cleared.all() and not trace.steps.stale_grad.any()
    assert (trace.steps.backward_count == 1).all()
    # The losses the script printed are the recorded ones.
    printed = [float(line.split()[-1]) for line in done.stdout.splitlines()]
    np.testing.assert_allclose(trace.steps.loss, printed, rtol=1e-5)
    # StepLR(step_size=2, gamma=0.5) from lr 0.1.
    np.testing.assert_allclose(trace.steps.lr[:, 0], [0.1, 0.1, 0.05, 0.05, 0.025])
    assert [m.type for m in sorted(trace.modules, key=lambda m: m.order)] == [
        "Linear",
        "ReLU",
        "Linear",
        "Tanh",
        "Linear",
        "Sequential",
    ]
    assert [p.name for p in trace.params] == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
        "4.weight",
        "4.bias",
    ]
    assert all(p.optimizer == 0 and p.group == 0 and p.trainable for p in trace.params)
    assert trace.optimizers[0].type == "SGD" and trace.groups[0].hyperparams["momentum"] == 0.9
    s = trace.steps
    assert (s.grad_norm > 0).all() and np.array_equal(s.grad_norm, s.fresh_grad_norm)
    assert (s.update_norm > 0).all() and (s.weight_norm > 0).all()
    assert not s.grad_nonfinite.any() and not s.weight_nonfinite.any()
    relu = next(i for i, m in enumerate(trace.modules) if m.type == "ReLU")
    tanh = next(i for i, m in enumerate(trace.modules) if m.type == "Tanh")
    assert trace.modules[relu].activation == "relu"
    assert (s.act_zero_frac[:, relu] > 0.2).all() and (s.act_mean[:, relu] > 0).all()
    assert np.isnan(s.act_sat_frac[:, relu]).all() and not np.isnan(s.act_sat_frac[:, tanh]).any()
    is_2d = np.array([len(p.shape) == 2 for p in trace.params])
    assert not np.isnan(s.grad_dead_in_frac[:, is_2d]).any()
    assert np.isnan(s.grad_dead_in_frac[:, ~is_2d]).all()


def test_every_k_records_every_kth_step_and_says_so(runs):
    done, trace = _load(runs, "healthy_every_2")
    assert done.returncode == 0
    assert trace.run.every == 2 and trace.run.total_steps == 5
    np.testing.assert_array_equal(trace.steps.step, [0, 2, 4])
    np.testing.assert_allclose(trace.steps.lr[:, 0], [0.1, 0.05, 0.025])


def test_missing_zero_grad_shows_stale_and_accumulating_gradients(runs):
    _, trace = _load(runs, "missing_zero_grad")
    s = trace.steps
    assert not s.cleared.any()
    assert not s.stale_grad[0].any() and s.stale_grad[1:].all()
    # .grad is the sum of every backward so far; the fresh part stays about the same size.
    np.testing.assert_allclose(s.grad_norm[0], s.fresh_grad_norm[0])
    assert (s.grad_norm[3] > 3 * s.fresh_grad_norm[3]).all()
    assert (s.fresh_grad_norm[3] < 1.5 * s.fresh_grad_norm[0]).all()
    assert EventKind.CLEAR not in trace.events.kind


def test_intended_accumulation_counts_backward_passes_and_is_not_stale(runs):
    _, trace = _load(runs, "accumulation")
    s = trace.steps
    assert (s.backward_count == 3).all() and s.cleared.all()
    assert not s.stale_grad.any()  # zero_grad(set_to_none=False) leaves zeros, not stale values
    for row in range(trace.num_rows):
        assert _events(trace, row) == [
            "CLEAR",
            "FORWARD",
            "BACKWARD",
            "BACKWARD",
            "BACKWARD",
            "STEP",
        ]
    np.testing.assert_allclose(s.grad_norm, s.fresh_grad_norm, rtol=1e-6)


def test_zero_grad_between_backward_and_step_leaves_the_step_without_gradients(runs):
    _, trace = _load(runs, "zero_grad_before_step")
    s = trace.steps
    for row in range(trace.num_rows):
        assert _events(trace, row) == ["FORWARD", "BACKWARD", "CLEAR", "STEP"]
    assert not s.cleared.any()
    assert np.isnan(s.grad_norm).all()  # .grad was None when the step ran
    assert (s.fresh_grad_norm > 0).all()  # measured before the clear
    assert (s.update_norm == 0).all()
    np.testing.assert_allclose(s.loss, s.loss[0])  # nothing learned


def test_manual_sgd_without_optimizer_records_manual_update_rows(runs):
    done, trace = _load(runs, "manual_sgd")
    assert done.returncode == 0, done.stderr
    assert trace.optimizers == () and trace.groups == ()
    assert {p.name for p in trace.params} == {"w", "b"}  # raw tensors, named from the script
    assert all(p.optimizer is None and p.module == "" for p in trace.params)
    s = trace.steps
    assert trace.num_rows == 4 and (s.optimizer == -1).all()
    assert _events(trace, 0) == ["BACKWARD", "MANUAL_UPDATE"]
    for row in range(1, 4):
        assert _events(trace, row) == ["CLEAR", "BACKWARD", "MANUAL_UPDATE"]
    w = [p.name for p in trace.params].index("w")
    b = [p.name for p in trace.params].index("b")
    printed = np.array([[float(v) for v in line.split()[2:]] for line in done.stdout.splitlines()])
    np.testing.assert_allclose(s.grad_norm[:, [w, b]], printed, rtol=1e-5)
    # update = lr * grad for both the no_grad update and the .data update (no version bump)
    np.testing.assert_allclose(s.update_norm[:, [w, b]], 0.1 * printed, rtol=1e-4)
    assert (np.diff(s.loss) < 0).all()


def test_two_optimizers_make_one_row_per_step_call(runs):
    _, trace = _load(runs, "gan")
    assert [o.type for o in trace.optimizers] == ["Adam", "Adam"]
    s = trace.steps
    np.testing.assert_array_equal(s.optimizer, [0, 1, 0, 1, 0, 1])  # D first, then G
    names = [p.name for p in trace.params]
    assert all(n.startswith(("discriminator.", "generator.")) for n in names)
    d = np.array([p.optimizer == 0 for p in trace.params])
    assert all(p.name.startswith("discriminator.") for p in trace.params if p.optimizer == 0)
    # Each row updates only its own optimizer's parameters.
    assert (s.update_norm[0::2][:, d] > 0).all() and np.isnan(s.update_norm[0::2][:, ~d]).all()
    assert (s.update_norm[1::2][:, ~d] > 0).all() and np.isnan(s.update_norm[1::2][:, d]).all()
    assert not s.stale_grad.any()
    np.testing.assert_allclose(s.lr[1:], [[2e-3, 1e-3]] * 5)


def test_parameter_missing_from_optimizer_frozen_and_late_modules_are_found(runs):
    _, trace = _load(runs, "not_in_optimizer")
    by_name = {p.name: p for p in trace.params}
    assert by_name["body.weight"].optimizer == 0 and by_name["body.weight"].group == 0
    assert by_name["scale"].optimizer is None and by_name["scale"].trainable
    assert not by_name["frozen.weight"].trainable and by_name["frozen.weight"].optimizer is None
    assert by_name["head.weight"].optimizer is None and by_name["head.weight"].module == "head"
    s = trace.steps
    col = {name: i for i, name in enumerate(by_name)}
    assert (s.grad_norm[:, col["head.weight"]] > 0).all()  # gets gradients ...
    assert np.isnan(s.update_norm[:, col["head.weight"]]).all()  # ... but no optimizer step
    assert np.isnan(s.grad_norm[:, col["frozen.weight"]]).all()
    assert {m.path for m in trace.modules} == {"", "body", "frozen", "head"}


@pytest.mark.parametrize(
    ("name", "status", "ended", "error"),
    [
        ("crash", 1, RunEnd.EXCEPTION, "RuntimeError: loss exploded at step 2"),
        ("sys_exit", 3, RunEnd.EXIT, ""),
        ("sigterm", -signal.SIGTERM, RunEnd.INTERRUPTED, "SIGTERM"),
        ("ctrl_c", -signal.SIGINT, RunEnd.INTERRUPTED, "KeyboardInterrupt"),
    ],
)
def test_run_that_ends_early_leaves_a_complete_trace_and_its_exit_status(
    runs, name, status, ended, error
):
    done, trace = _load(runs, name)
    assert done.returncode == status, done.stderr
    assert trace.run.ended is ended and trace.run.error == error
    assert trace.num_rows == trace.run.total_steps == 2
    if name == "crash":
        assert "RuntimeError: loss exploded at step 2" in done.stderr
    if name == "sys_exit":
        assert trace.run.exit_code == 3 and done.stdout == "stopping early\n"


def test_amp_grad_scaler_skipped_step_is_an_event_and_losses_are_unscaled(runs):
    done, trace = _load(runs, "amp_scaler")
    assert done.returncode == 0, done.stderr
    assert trace.run.total_steps == 3 and trace.num_rows == 3  # 4 iterations, 1 skipped
    assert _events(trace, 1) == [
        "CLEAR",
        "FORWARD",
        "BACKWARD",
        "SKIPPED_STEP",
        "CLEAR",
        "FORWARD",
        "BACKWARD",
        "STEP",
    ]
    printed = [float(line.split()[-1]) for line in done.stdout.splitlines()]
    np.testing.assert_allclose(trace.steps.loss, [printed[0], printed[2], printed[3]], rtol=1e-5)
    # fresh norms are read after unscale_ and before clipping: about the scale of the loss
    # gradient, not 1024 times it.
    assert (trace.steps.fresh_grad_norm < 10).all()
    assert (trace.steps.backward_count == 1).all()


def test_dataloader_worker_processes_do_not_break_recording(runs):
    done, trace = _load(runs, "dataloader_workers")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "done\n"
    assert trace.num_rows == 4 and trace.run.ended is RunEnd.COMPLETED


def test_record_context_manager_records_from_code_with_inplace_activations(runs):
    done, trace = _load(runs, "record_context")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "after\n"
    assert trace.num_rows == 3 and trace.optimizers[0].type == "AdamW"
    assert (trace.steps.grad_norm > 0).all()


def test_capture_refuses_a_missing_script_with_a_usage_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "traces.capture", str(tmp_path / "nope.py")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "no such script" in done.stderr


def test_script_that_never_imports_torch_still_gets_a_valid_empty_trace(tmp_path):
    script = tmp_path / "plain.py"
    script.write_text("import sys\nprint(sys.argv[1:], __name__)\n")
    done = subprocess.run(
        [sys.executable, "-m", "traces.capture", str(script), "a", "b"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=_env(),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['a', 'b'] __main__\n"
    trace = traces.load(tmp_path / "plain.trace")  # default output name: <script>.trace
    assert trace.num_rows == 0 and trace.run.ended is RunEnd.COMPLETED


def _torchrun(script: str, workdir: Path) -> subprocess.CompletedProcess:
    """Two processes on gloo under torchrun, each recording its own run.rankR.trace."""
    return subprocess.run(
        [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
            "--standalone", "-m", "traces.capture", "-o", "run.trace", str(SCRIPTS / script),
        ],
        capture_output=True, text=True, timeout=TIMEOUT, env=_env(), cwd=workdir,
    )  # fmt: skip


def test_under_torchrun_each_rank_writes_its_own_trace(tmp_path):
    """DDP with two processes on gloo: run.rank0.trace and run.rank1.trace, never one file
    written over by whichever rank finished last."""
    done = _torchrun("ddp_gloo.py", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (tmp_path / "run.trace").exists()
    for rank in (0, 1):
        trace = traces.load(tmp_path / f"run.rank{rank}.trace")
        assert (trace.extra["rank"], trace.extra["world_size"]) == (rank, 2)
        assert trace.run.ended is RunEnd.COMPLETED and trace.num_rows == 20
    rank0, rank1 = (traces.load(path) for path in rank_files(tmp_path / "run.trace"))
    diagnosis = analysis.diagnose(rank0, peers=[rank1])
    assert diagnosis.healthy and diagnosis.findings == (), diagnosis.summary  # the ranks agree


def test_under_torchrun_ranks_that_skip_the_all_reduce_disagree(tmp_path):
    """DDP with two processes on gloo, the forward pass through ``model.module``: no all-reduce,
    so the ranks step with their own gradients and their weights drift apart."""
    done = _torchrun("ddp_bypass.py", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = (traces.load(path) for path in rank_files(tmp_path / "run.trace"))
    assert analysis.diagnose(rank0).findings == ()  # each rank alone looks healthy
    (finding,) = analysis.diagnose(rank0, peers=[rank1]).findings
    assert finding.code == "ranks_disagree" and finding.severity.value == "error"
    assert finding.title == "The ranks train different models"
    assert finding.evidence.onset_step == 1  # equal at the start (DDP broadcast), apart after
