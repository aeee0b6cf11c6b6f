"""The recorder in-process: streaming, failure containment, how runs end, torch.compile."""

import numpy as np
import pytest
import torch
from torch import nn

import traces
from traces import recorder as recorder_module
from traces.model import RunEnd


def _train(model, optimizer, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        model(torch.randn(8, 4)).pow(2).mean().backward()
        optimizer.step()


def _model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    return model, torch.optim.SGD(model.parameters(), lr=0.1)


def test_modules_say_when_they_first_ran_with_autograd_on(tmp_path):
    model, optimizer = _model()
    with traces.record(tmp_path / "run.trace"):
        _train(model, optimizer, 3)
        reloaded = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
        reloaded.load_state_dict(model.state_dict())
        with torch.no_grad():
            reloaded(torch.randn(8, 4))  # an evaluation copy: never part of training
        late = nn.Linear(4, 1)
        late(torch.randn(2, 4)).sum().backward()  # built and run after the last step
    trace = traces.load(tmp_path / "run.trace")
    # In forward order: the trained model's 4 modules, the reloaded copy's 4, then `late`.
    by_order = [m.grad_step for m in sorted(trace.modules, key=lambda m: m.order)]
    assert by_order == [0] * 4 + [-1] * 4 + [3]
    assert trace.run.total_steps == 3


def test_rows_are_streamed_so_a_run_killed_without_warning_still_loads(tmp_path):
    path = tmp_path / "run.trace"
    model, optimizer = _model()
    recorder = recorder_module.start(path, every=1, command=("test",))
    recorder.stream.flush_rows = 4
    try:
        _train(model, optimizer, 10)
        assert len(recorder.stream.rows) <= 4  # memory stays bounded: rows go to the file
        # Read the file as it is now, as if the process had been killed (no final META).
        trace = traces.load(path)
        assert trace.run.ended is RunEnd.RUNNING
        assert trace.num_rows == 8
        np.testing.assert_array_equal(trace.steps.step, np.arange(8))
    finally:
        recorder.finish(RunEnd.COMPLETED)
    trace = traces.load(path)
    assert trace.run.ended is RunEnd.COMPLETED and trace.num_rows == 10


def test_an_internal_recorder_error_stops_recording_but_not_training(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = recorder_module.Recorder._measure_before

    def failing(self, opt, members):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("boom")
        return original(self, opt, members)

    monkeypatch.setattr(recorder_module.Recorder, "_measure_before", failing)
    model, optimizer = _model()
    before = model[0].weight.detach().clone()
    with traces.record(tmp_path / "run.trace"):
        _train(model, optimizer, 5)
    assert not torch.equal(before, model[0].weight)  # training went on
    assert (
        "recording stopped after an internal error (RuntimeError: boom)" in capsys.readouterr().err
    )
    trace = traces.load(tmp_path / "run.trace")
    assert trace.num_rows == 2
    assert trace.extra["recorder_error"] == "RuntimeError: boom"
    assert trace.run.ended is RunEnd.COMPLETED


def test_record_context_records_an_exception_and_lets_it_through(tmp_path):
    model, optimizer = _model()
    with pytest.raises(ValueError, match="bad batch"):
        with traces.record(tmp_path / "run.trace"):
            _train(model, optimizer, 2)
            raise ValueError("bad batch\nsecond line")
    trace = traces.load(tmp_path / "run.trace")
    assert trace.run.ended is RunEnd.EXCEPTION
    assert trace.run.error == "ValueError: bad batch"
    assert trace.num_rows == 2


def test_hooks_are_removed_after_recording(tmp_path):
    model, optimizer = _model()
    backward = torch.autograd.backward
    with traces.record(tmp_path / "a.trace"):
        _train(model, optimizer, 1)
    assert torch.autograd.backward is backward
    with traces.record(tmp_path / "b.trace"):  # a second recording in the same process
        _train(model, optimizer, 2)
    assert traces.load(tmp_path / "b.trace").num_rows == 2


def test_only_one_recording_at_a_time(tmp_path):
    with traces.record(tmp_path / "a.trace"):
        with pytest.raises(RuntimeError, match="already being recorded"):
            with traces.record(tmp_path / "b.trace"):
                pass


def test_fp16_gradients_do_not_overflow_the_norms(tmp_path):
    torch.manual_seed(0)
    weight = nn.Parameter(torch.full((64, 64), 1.0, dtype=torch.float16))
    optimizer = torch.optim.SGD([weight], lr=0.0)
    with traces.record(tmp_path / "run.trace"):
        optimizer.zero_grad()
        (weight.float() * 300.0).sum().backward()  # every gradient element is 300 (fp16-safe)
        optimizer.step()
    trace = traces.load(tmp_path / "run.trace")
    # sqrt(4096) * 300 = 19200 fits fp16, but the sum of squares (3.7e8) would not
    assert trace.steps.grad_norm[0, 0] == pytest.approx(19200.0)
    assert trace.steps.grad_nonfinite[0, 0] == 0


def test_nan_gradients_are_counted(tmp_path):
    weight = nn.Parameter(torch.ones(3, 2))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    with traces.record(tmp_path / "run.trace"):
        optimizer.zero_grad()
        (
            weight * torch.tensor([[1.0, float("nan")], [1.0, 1.0], [float("inf"), 1.0]])
        ).sum().backward()
        optimizer.step()
    trace = traces.load(tmp_path / "run.trace")
    assert trace.steps.grad_nonfinite[0, 0] == 2
    assert trace.steps.weight_nonfinite[0, 0] == 2
    assert not np.isfinite(trace.steps.grad_norm[0, 0])


def test_dead_input_columns_are_measured_from_the_gradient(tmp_path):
    layer = nn.Linear(6, 3)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    x = torch.randn(16, 6)
    x[:, [1, 4]] = 0.0  # two inputs are zero for the whole batch: their columns get no gradient
    with traces.record(tmp_path / "run.trace"):
        optimizer.zero_grad()
        layer(x).pow(2).sum().backward()
        optimizer.step()
    trace = traces.load(tmp_path / "run.trace")
    names = [p.name for p in trace.params]
    assert trace.steps.grad_dead_in_frac[0, names.index("weight")] == pytest.approx(2 / 6)
    assert np.isnan(trace.steps.grad_dead_in_frac[0, names.index("bias")])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Using `torch.compile")
def test_torch_compile_is_not_recompiled_by_the_hooks(tmp_path):
    import torch._dynamo

    torch._dynamo.reset()
    model, optimizer = _model()
    compiled = torch.compile(model, backend="eager")
    with traces.record(tmp_path / "run.trace"):
        _train(compiled, optimizer, 4)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1
    trace = traces.load(tmp_path / "run.trace")
    assert trace.num_rows == 4
    assert [p.name for p in trace.params] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert (trace.steps.grad_norm > 0).all()


# The sampled update norm's measured error on dense layers (SGD, Adam, AdamW; SCHEMA.md) is
# about 1 %; the test allows 5 %.
SAMPLED_UPDATE_TOLERANCE = 0.05


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9),
        lambda params: torch.optim.Adam(params, lr=1e-3),
    ],
    ids=["sgd_momentum", "adam"],
)
def test_update_norm_of_a_large_layer_is_estimated_within_tolerance(tmp_path, make_optimizer):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(128, 512), nn.ReLU(), nn.Linear(512, 10))
    assert model[0].weight.numel() > recorder_module.UPDATE_SAMPLE_ELEMENTS  # sampled
    assert model[0].bias.numel() <= recorder_module.UPDATE_SAMPLE_ELEMENTS  # exact
    optimizer = make_optimizer(model.parameters())
    x, y = torch.randn(64, 128), torch.randint(0, 10, (64,))
    exact = []
    with traces.record(tmp_path / "run.trace"):
        for _ in range(12):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            before = [p.detach().clone() for p in model.parameters()]
            optimizer.step()
            exact.append(
                [
                    (p.detach() - b).norm().item()
                    for p, b in zip(model.parameters(), before, strict=True)
                ]
            )
    trace = traces.load(tmp_path / "run.trace")
    names = [p.name for p in trace.params]
    exact = np.array(exact)
    recorded = trace.steps.update_norm[:, [names.index(n) for n, _ in model.named_parameters()]]
    assert np.all(exact > 0)
    np.testing.assert_allclose(recorded[:, 0], exact[:, 0], rtol=SAMPLED_UPDATE_TOLERANCE)
    assert not np.allclose(recorded[:, 0], exact[:, 0], rtol=1e-6, atol=0)  # it is an estimate
    np.testing.assert_allclose(recorded[:, 1:], exact[:, 1:], rtol=1e-5)  # small tensors exact


def test_sampled_update_norm_weights_every_part_of_an_odd_sized_tensor(tmp_path):
    # A uniform update of a tensor whose size is not a multiple of the run length: the
    # stratum weights and the trailing elements must add up to the exact norm.
    weight = nn.Parameter(torch.zeros(129, 333))
    assert weight.numel() > recorder_module.UPDATE_SAMPLE_ELEMENTS
    assert weight.numel() % recorder_module.UPDATE_SAMPLE_RUN != 0
    optimizer = torch.optim.SGD([weight], lr=0.5)
    with traces.record(tmp_path / "run.trace"):
        for _ in range(3):
            optimizer.zero_grad()
            weight.sum().backward()
            optimizer.step()
    trace = traces.load(tmp_path / "run.trace")
    expected = 0.5 * np.sqrt(weight.numel())
    np.testing.assert_allclose(trace.steps.update_norm[:, 0], expected, rtol=1e-5)


def test_weight_norm_of_a_large_tensor_comes_from_the_sample(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(128, 512), nn.ReLU(), nn.Linear(512, 64))
    model[2].requires_grad_(False)  # frozen, not stepped: its norm is still recorded
    optimizer = torch.optim.SGD(model[0].parameters(), lr=0.05)
    x = torch.randn(64, 128)
    exact = []
    with traces.record(tmp_path / "run.trace"):
        for _ in range(4):
            optimizer.zero_grad()
            model(x).pow(2).mean().backward()
            exact.append([p.detach().norm().item() for p in model.parameters()])
            optimizer.step()
    trace = traces.load(tmp_path / "run.trace")
    names = [p.name for p in trace.params]
    recorded = trace.steps.weight_norm[:, [names.index(n) for n, _ in model.named_parameters()]]
    exact = np.array(exact)
    large = [0, 2]  # the two weights; the biases are small
    assert all(model[i].weight.numel() > recorder_module.UPDATE_SAMPLE_ELEMENTS for i in large)
    np.testing.assert_allclose(recorded[:, large], exact[:, large], rtol=SAMPLED_UPDATE_TOLERANCE)
    assert not np.allclose(recorded[:, large], exact[:, large], rtol=1e-6, atol=0)  # estimates
    np.testing.assert_allclose(recorded[:, [1, 3]], exact[:, [1, 3]], rtol=1e-5)  # exact


def test_weight_norm_estimate_is_exact_for_a_uniform_odd_sized_tensor(tmp_path):
    weight = nn.Parameter(torch.full((129, 333), 0.25))
    assert weight.numel() > recorder_module.UPDATE_SAMPLE_ELEMENTS
    optimizer = torch.optim.SGD([weight], lr=0.0)
    with traces.record(tmp_path / "run.trace"):
        optimizer.zero_grad()
        weight.sum().backward()
        optimizer.step()
    trace = traces.load(tmp_path / "run.trace")
    assert trace.steps.weight_norm[0, 0] == pytest.approx(0.25 * np.sqrt(weight.numel()), rel=1e-5)


def test_dead_input_columns_of_a_tall_gradient_are_read_on_a_sample_of_rows(tmp_path):
    layer = nn.Linear(6, 4 * recorder_module.DEAD_PROBE_ROWS + 3)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    x = torch.randn(16, 6)
    x[:, [0, 5]] = 0.0
    with traces.record(tmp_path / "run.trace"):
        optimizer.zero_grad()
        layer(x).pow(2).sum().backward()
        optimizer.step()
    trace = traces.load(tmp_path / "run.trace")
    assert trace.steps.grad_dead_in_frac[0, 0] == pytest.approx(2 / 6)
