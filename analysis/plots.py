"""SVG plots for a thread: gradient flow per layer and gradient norms over steps (log scales),
and the replay's loss before and after the verified fix (``verified_fix_svg``, drawn from the
result of ``analysis.replay.verify``).

matplotlib's object API with the Agg canvas (no pyplot global state: safe in a Celery worker).
Each plot brings its own light paper with dark ink, so its text reads the same on the dark
theme, a light page or opened on its own, and its type stays legible scaled down to a phone's
width (about 0.75 x: a 9 pt label shows at about 7 px). Each function
returns an SVG document as a string, or None when the trace has nothing to plot.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis.detectors._view import TraceView, nanmedian, pooled_norm
from traces.model import Trace

PAPER = "#e6edf3"  # the paper theme.css gave the plots, now drawn in
INK = "#1f2933"  # 13:1 on PAPER (mid-grey was under 3:1: too faint)
TICK_PT, LABEL_PT, TITLE_PT = 10, 11, 12  # a phone shows them at about 0.75 x
COLORS = ("#4c9be8", "#e8744c", "#5cc18a", "#c77ddb", "#e0b83a", "#5fc6c9")
SIZE = (6.4, 3.2)  # inches at 100 dpi: 640 x 320 px
TICK_CHARS = 30  # longer layer names would squeeze the plot under its rotated tick labels
MAX_LAYERS = 30  # beyond this, layer labels are thinned (they would overlap at TICK_PT)
SMALL_SIZE = (5.6, 2.8)  # the verified fix's plot: a small one under its section
# The verified fix's plot, by name (a URL part like the others: /traces/<id>/plots/<name>.svg).
VERIFIED_FIX_PLOT = "verified_fix"
# A loss curve spanning more than this ratio (all positive) is drawn on a log scale.
LOG_SCALE_SPAN = 100.0


def _figure(size: tuple[float, float] = SIZE) -> tuple[Figure, object]:
    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor(PAPER)
    ax = fig.add_subplot(1, 1, 1)
    ax.patch.set_alpha(0.0)
    for spine in ax.spines.values():
        spine.set_color(INK)
    ax.tick_params(colors=INK, labelsize=TICK_PT)
    for text in (ax.xaxis.label, ax.yaxis.label):
        text.set_color(INK)
        text.set_fontsize(LABEL_PT)
    ax.title.set_color(INK)
    ax.grid(True, which="major", color=INK, alpha=0.25, linewidth=0.5)
    return fig, ax


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    # Text stays text (the page's font, a few KB smaller); no date, so output is reproducible.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "gradhub"}):
        fig.tight_layout()
        fig.savefig(buf, format="svg", facecolor=PAPER, metadata={"Date": None})
    return buf.getvalue()


def _positive(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x) & (x > 0), x, np.nan)


def _tick(name: str) -> str:
    """A layer's tick label, its head elided past TICK_CHARS (the tail says which layer)."""
    return name if len(name) <= TICK_CHARS else "…" + name[-(TICK_CHARS - 1) :]


def gradient_flow_svg(trace: Trace) -> str | None:
    """Median gradient norm of each layer (input to output), one line per optimizer."""
    view = TraceView(trace)
    fig, ax = _figure()
    plotted = False
    labels: list[str] = []
    for k, actor in enumerate(view.actors):
        params = view.params_of(actor)
        params = params[view.is_matrix[params] & view.ever_graded[params]]
        if params.size == 0:
            continue
        modules: dict[str, list[int]] = {}
        for p in params[np.argsort(view.param_order[params], kind="stable")]:
            modules.setdefault(trace.params[p].module, []).append(int(p))
        rows = view.sample(view.rows_of(actor), 512)
        with np.errstate(all="ignore"):
            med = np.array(
                [
                    nanmedian(pooled_norm(trace.steps.fresh_grad_norm, rows, np.array(ps)))
                    for ps in modules.values()
                ]
            )
        x = np.arange(len(med))
        ax.plot(
            x,
            _positive(med),
            marker="o",
            markersize=3,
            linewidth=1.2,
            color=COLORS[k % len(COLORS)],
            label=view.actor_name(actor),
        )
        if len(modules) > len(labels):
            labels = [_tick(view.describe(m)) for m in modules]  # named as in the report
        plotted = True
    if not plotted:
        return None
    ax.set_yscale("log")
    step = max(1, len(labels) // MAX_LAYERS)
    ax.set_xticks(np.arange(0, len(labels), step))
    ax.set_xticklabels(labels[::step], rotation=60, ha="right", fontsize=TICK_PT - 1)
    ax.set_ylabel("median gradient norm")
    ax.set_title("Gradient flow per layer (input → output)", fontsize=TITLE_PT)
    if len(view.actors) > 1:
        ax.legend(fontsize=TICK_PT - 1, frameon=False, labelcolor=INK)
    return _svg(fig)


def gradient_norms_svg(trace: Trace) -> str | None:
    """Total gradient norm per optimizer step, with the first and last layer's, log scale."""
    view = TraceView(trace)
    fig, ax = _figure()
    plotted = False
    for k, actor in enumerate(view.actors):
        params = view.params_of(actor)
        params = params[view.ever_graded[params]]
        if params.size == 0:
            continue
        rows = view.sample(view.rows_of(actor), 1024)
        steps = trace.steps.step[rows]
        color = COLORS[k % len(COLORS)]
        total = pooled_norm(trace.steps.fresh_grad_norm, rows, params)
        ax.plot(
            steps,
            _positive(total),
            color=color,
            linewidth=1.2,
            label=f"{view.actor_name(actor)}: all layers",
        )
        layers = view.hidden_layers(actor)
        if len(layers) >= 2:
            first = pooled_norm(trace.steps.fresh_grad_norm, rows, layers[0].params)
            ax.plot(
                steps,
                _positive(first),
                color=color,
                linewidth=0.8,
                linestyle="--",
                label=f"first layer: {view.describe(layers[0].module)}",
            )
        plotted = True
    if not plotted:
        return None
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("gradient norm")
    ax.set_title("Gradient norms over training", fontsize=TITLE_PT)
    ax.legend(fontsize=TICK_PT - 1, frameon=False, labelcolor=INK)
    return _svg(fig)


def all_svgs(trace: Trace) -> dict[str, str]:
    """Every plot that has something to show, by name."""
    out = {}
    for name, fn in (("gradient_flow", gradient_flow_svg), ("gradient_norms", gradient_norms_svg)):
        svg = fn(trace)
        if svg is not None:
            out[name] = svg
    return out


def render_svgs(trace: Trace, diagnosis=None) -> dict[str, str]:
    """The plots for a thread (name -> SVG). ``diagnosis`` is accepted for future per-finding
    plots; the two plots do not depend on it today."""
    return all_svgs(trace)


def _curve(figures: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """The (steps, losses) of a replay's ``losses`` list ([step, loss] pairs), or None."""
    points = figures.get("losses") if isinstance(figures, dict) else None
    if not isinstance(points, list) or not points:
        return None
    steps, values = [], []
    for point in points:
        if not (isinstance(point, list | tuple) and len(point) == 2):
            return None
        step, value = point
        if not isinstance(step, int | float) or isinstance(step, bool):
            return None
        steps.append(float(step))
        values.append(float(value) if isinstance(value, int | float) else np.nan)
    return np.array(steps), np.array(values)


def short_number(value) -> str:
    """A figure as the post's verdict table writes it (analysis.replay.report; the engine's
    modules may not import the replay, which needs torch)."""
    if not isinstance(value, int | float) or not np.isfinite(value):
        return "—"
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.1e}"


def verified_fix_svg(result: dict) -> str | None:
    """The replay's loss per step as recorded (no fix) and with the top verified fix, with the
    finding's key figure before → after in the title; None when the top fix was not verified
    by a replay that learned something (no fix, loop bugs checked from the recorded events,
    a fix that did not help)."""
    replay = result.get("replay", result) if isinstance(result, dict) else None
    fixes = replay.get("fixes") if isinstance(replay, dict) else None
    if not isinstance(fixes, list) or not fixes or not isinstance(fixes[0], dict):
        return None
    best = fixes[0]
    if best.get("verdict") not in ("resolves", "partial"):
        return None
    before, after = _curve(best.get("before")), _curve(best.get("after"))
    if before is None or after is None:
        return None
    fig, ax = _figure(SMALL_SIZE)
    finite = np.concatenate([before[1], after[1]])
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    title = str(best.get("title", "the fix"))[:60]
    ax.plot(*before, color=COLORS[1], linewidth=1.4, label="as recorded (no fix)")
    ax.plot(*after, color=COLORS[2], linewidth=1.4, label=f"fixed: {title}")
    if finite.min() > 0 and finite.max() / finite.min() > LOG_SCALE_SPAN:
        ax.set_yscale("log")
    ax.set_xlabel("replayed step")
    ax.set_ylabel("loss")
    heading = "Replay: loss before and after the verified fix"
    figure = best["before"].get("figure")
    if isinstance(figure, str) and figure:
        key = (
            f"{figure[:50]}: {short_number(best['before'].get('figure_value'))} → "
            f"{short_number(best['after'].get('figure_value'))}"
        )
        heading += "\n" + key
    ax.set_title(heading, fontsize=TICK_PT)
    ax.legend(fontsize=TICK_PT - 1, frameon=False, labelcolor=INK)
    return _svg(fig)
