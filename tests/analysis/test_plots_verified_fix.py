"""The verified fix's small plot: the replay's loss per step as recorded and with the top fix,
drawn from the result of analysis.replay.verify (its before/after figures carry a downsampled
loss curve)."""

import json
import xml.etree.ElementTree as ET

import pytest

from analysis.plots import verified_fix_svg
from analysis.replay.verify import LOSS_CURVE_POINTS, verify
from tests.analysis.replay.test_verify import sigmoid_trace  # noqa: F401 - a fixture

STEPS = 80


@pytest.fixture(scope="module")
def replay_result(sigmoid_trace):  # noqa: F811 - the fixture imported above
    """The recorded 12-layer sigmoid MLP (gradients vanish), replayed with its fixes."""
    return verify(sigmoid_trace, steps=STEPS)


def _curve(points: int) -> list:
    return [[i, 0.7 - 0.001 * i] for i in range(points)]


def _result(verdict="resolves", before=None, after=None, **fix) -> dict:
    figures = {"figure": "first/last layer gradient norm", "losses": _curve(30)}
    return {
        "replay": {
            "fixes": [
                {
                    "finding": "vanishing_gradients",
                    "fix": "relu_kaiming",
                    "title": "ReLU with Kaiming init",
                    "verdict": verdict,
                    "before": {**figures, "figure_value": 2.8e-7} if before is None else before,
                    "after": {**figures, "figure_value": 4.06} if after is None else after,
                    "diff": "",
                    **fix,
                }
            ]
        }
    }


@pytest.mark.slow  # trains a 12-layer model several times
def test_the_replay_keeps_a_downsampled_loss_curve_and_the_plot_is_drawn_from_it(replay_result):
    best = replay_result["replay"]["fixes"][0]
    assert best["verdict"] in ("resolves", "partial"), replay_result["replay"]["why"]
    for figures in (best["before"], best["after"]):
        points = figures["losses"]
        assert 2 <= len(points) <= LOSS_CURVE_POINTS
        steps = [step for step, _ in points]
        assert steps[0] == 0 and steps[-1] == figures["steps"] - 1 and steps == sorted(set(steps))
        assert points[0][1] == pytest.approx(figures["loss_start"])
    json.dumps(replay_result, allow_nan=False)

    svg = verified_fix_svg(replay_result)
    assert ET.fromstring(svg).tag.endswith("svg") and len(svg) < 60_000
    assert "as recorded (no fix)" in svg and f"fixed: {best['title']}" in svg
    assert "first/last layer gradient norm" in svg  # the key figure, before → after


def test_the_key_figure_before_and_after_is_in_the_title():
    svg = verified_fix_svg(_result())
    assert "2.8e-07 → 4.06" in svg and "Replay: loss before and after the verified fix" in svg


@pytest.mark.parametrize(
    "result",
    [
        {"replay": {"fixes": []}},
        _result(verdict="no_effect"),
        _result(verdict="worse"),
        _result(before={"figure": "x"}),  # a replay without the loss curve (older result)
        _result(after={"error": "the replay failed"}),
        _result(verified_by="recorded_events", before={"steps_with_stale_gradient": 3}),
        _result(after={"losses": [[0, None], [1, None]]}, before={"losses": [[0, None]]}),
        _result(after={"losses": [["a", 1.0]]}),
        {"replay": "nonsense"},
    ],
)
def test_no_plot_without_a_verified_fix_and_its_two_curves(result):
    assert verified_fix_svg(result) is None


def test_a_loss_that_blows_up_is_drawn_on_a_log_scale_and_gaps_stay_gaps():
    before = {"losses": [[i, 10.0**i] for i in range(8)] + [[8, None]]}
    svg = verified_fix_svg(_result(before=before))
    assert ET.fromstring(svg).tag.endswith("svg")
    assert "10^{" in svg or "mathdefault" in svg  # log-scale tick labels
