"""Reads for the lesson pages: steps, the computed Graph Matrix, what a learner has unlocked."""

import math
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils.html import escape

from .graph import graph_checksum, graph_compute
from .models import Article, FaqEntry, Lesson, LessonProgress, LessonStep

LESSON_SLUG = "backprop"  # the one lesson the site has (/learn/backprop/)
PLACEHOLDER_RE = re.compile(r"\[\[(value|grad)\.(\w+)\]\]")
NODE_RADIUS = 26  # SVG units; labels are one or two characters


def lesson_get(*, slug: str = LESSON_SLUG) -> Lesson | None:
    return Lesson.objects.filter(slug=slug).first()


def lesson_steps(*, lesson: Lesson) -> list[LessonStep]:
    return list(lesson.steps.order_by("number"))


def lesson_step(*, lesson: Lesson, number: int) -> LessonStep | None:
    return lesson.steps.filter(number=number).first()


def lesson_numeric_answers(*, steps: list[LessonStep]) -> dict[str, dict]:
    return {str(step.number): step.answer for step in steps if step.kind == "numeric"}


def lesson_computed(*, lesson: Lesson, steps: list[LessonStep] | None = None) -> dict:
    """Forward values, gradients, edge gradients and numeric answers, computed with torch.

    Computed the first time they are needed after the content changes, then kept on the lesson
    row: only that first request imports torch.
    """
    steps = steps if steps is not None else lesson_steps(lesson=lesson)
    answers = lesson_numeric_answers(steps=steps)
    checksum = graph_checksum(graph=lesson.graph, answers=answers)
    if lesson.computed is not None and lesson.computed_checksum == checksum:
        return lesson.computed
    computed = graph_compute(graph=lesson.graph, answers=answers)
    with transaction.atomic():
        Lesson.objects.filter(pk=lesson.pk).update(computed=computed, computed_checksum=checksum)
    lesson.computed, lesson.computed_checksum = computed, checksum
    return computed


def step_expected(*, lesson: Lesson, step: LessonStep) -> float | None:
    if step.kind != "numeric":
        return None
    return lesson_computed(lesson=lesson)["answers"][str(step.number)]


def number_format(value: float) -> str:
    """Four decimals, a real minus sign, no "-0.0000"."""
    text = f"{value:.4f}"
    if text.lstrip("-") == "0.0000":
        text = "0.0000"
    return text.replace("-", "−")


def step_prompt_html(*, lesson: Lesson, step: LessonStep) -> str:
    """The prompt with [[value.x]] / [[grad.x]] replaced by the computed numbers."""
    if not PLACEHOLDER_RE.search(step.prompt_html):
        return step.prompt_html
    computed = lesson_computed(lesson=lesson)

    def replace(match: re.Match) -> str:
        table = computed["values"] if match.group(1) == "value" else computed["grads"]
        value = table.get(match.group(2))
        if value is None:
            return escape(match.group(0))
        return f'<span class="num">{number_format(value)}</span>'

    return PLACEHOLDER_RE.sub(replace, step.prompt_html)


# --- progress -------------------------------------------------------------------------------
def progress_open_step(*, progress: LessonProgress | None, total: int) -> int:
    """The furthest step the learner may open: the first one not yet answered correctly."""
    done = set(progress.completed_steps) if progress else set()
    for number in range(1, total + 1):
        if number not in done:
            return number
    return total


def progress_is_complete(*, progress: LessonProgress | None, total: int) -> bool:
    return progress is not None and set(range(1, total + 1)) <= set(progress.completed_steps)


def progress_unlocked_nodes(*, progress: LessonProgress | None, steps: list[LessonStep]) -> set:
    done = set(progress.completed_steps) if progress else set()
    unlocked: set[str] = set()
    for step in steps:
        if step.number in done:
            unlocked.update(step.unlocks)
    return unlocked


# --- the Graph Matrix -----------------------------------------------------------------------
@dataclass
class NodeView:
    id: str
    label: str
    title: str
    kind: str
    x: float
    y: float
    unlocked: bool
    value: str = ""
    grad: str = ""


@dataclass
class EdgeView:
    source: str
    target: str
    x1: float
    y1: float
    x2: float
    y2: float
    mid_x: float
    mid_y: float
    value: str = ""
    grad: str = ""
    local: str = ""


def graph_matrix(*, lesson: Lesson, unlocked: set[str], complete: bool) -> dict:
    """What the SVG template needs: positioned nodes and edges, numbers once complete."""
    graph = lesson.graph
    computed = lesson_computed(lesson=lesson) if complete else None
    nodes = {}
    for node in graph["nodes"]:
        view = NodeView(
            id=node["id"],
            label=node.get("label", node["id"]),
            title=node.get("title", ""),
            kind=node.get("kind", "op") if "op" not in node else "op",
            x=node["x"],
            y=node["y"],
            unlocked=complete or node["id"] in unlocked,
        )
        if computed:
            view.value = number_format(computed["values"][node["id"]])
            view.grad = number_format(computed["grads"][node["id"]])
        nodes[view.id] = view
    edges = []
    for computed_edge in _edge_list(graph=graph, computed=computed):
        source, target = nodes[computed_edge["source"]], nodes[computed_edge["target"]]
        x1, y1, x2, y2 = _shorten(source.x, source.y, target.x, target.y, NODE_RADIUS)
        edge = EdgeView(
            source=source.id, target=target.id, x1=x1, y1=y1, x2=x2, y2=y2,
            mid_x=(x1 + x2) / 2, mid_y=(y1 + y2) / 2,
        )  # fmt: skip
        if computed:
            edge.value = number_format(computed_edge["value"])
            edge.grad = number_format(computed_edge["grad"])
            edge.local = number_format(computed_edge["local"])
        edges.append(edge)
    return {
        "width": graph.get("width", 740),
        "height": graph.get("height", 300),
        "nodes": list(nodes.values()),
        "edges": edges,
        "complete": complete,
        "unlocked_count": sum(1 for node in nodes.values() if node.unlocked),
        "node_count": len(nodes),
    }


def _edge_list(*, graph: dict, computed: dict | None) -> list[dict]:
    if computed:
        return computed["edges"]
    return [
        {"source": source, "target": node["id"]}
        for node in graph["nodes"]
        for source in node.get("inputs", [])
    ]


def _shorten(x1, y1, x2, y2, radius):
    """The segment between two circles' edges, so arrowheads are not hidden under nodes."""
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    dx, dy = (x2 - x1) / length, (y2 - y1) / length
    return (
        round(x1 + dx * radius, 1),
        round(y1 + dy * radius, 1),
        round(x2 - dx * (radius + 4), 1),
        round(y2 - dy * (radius + 4), 1),
    )


# --- article and FAQ ------------------------------------------------------------------------
def article_get(*, slug: str) -> Article | None:
    return Article.objects.filter(slug=slug).first()


def faq_list() -> list[FaqEntry]:
    return list(FaqEntry.objects.order_by("position", "slug"))
