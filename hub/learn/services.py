"""Writes for the learning content and the learners' progress.

Content rows come from `content/` through `manage.py load_learning_content` (see
hub/learn/management/commands/load_learning_content.py); progress rows from the lesson pages.
"""

import math
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.core.ratelimit import rate_limit
from hub.glossary.markdown import markdown_render

from . import selectors
from .models import Article, FaqEntry, Lesson, LessonProgress, LessonStep

# A numeric answer is right when it is within ABS_TOLERANCE or REL_TOLERANCE of the value the
# server computed. The prompts ask for three decimals, so rounding the given 4-decimal inputs
# and the result must pass (an error up to ~5e-4), while a wrong step (a missed factor) must not.
ABS_TOLERANCE = 2e-3
REL_TOLERANCE = 5e-3
ANSWER_MAX_CHARS = 50  # longer input is not a number anyone typed on purpose
SESSION_TOKEN_KEY = "learn_token"
# Answers per learner per minute: far above a person's pace, low enough to stop a script
# from hammering the checker (each numeric check may read torch-computed values).
ANSWER_RATE_LIMIT = 30
ANSWER_RATE_PERIOD_SECONDS = 60


# --- content --------------------------------------------------------------------------------
def lesson_upsert(*, data: dict, checksum: str) -> tuple[Lesson, bool]:
    """Create or update a lesson and its steps from its YAML data. Returns (lesson, changed)."""
    lesson = Lesson.objects.filter(slug=data["slug"]).first()
    if lesson is not None and lesson.source_checksum == checksum:
        return lesson, False
    with transaction.atomic():
        lesson = lesson or Lesson(slug=data["slug"])
        lesson.title = data["title"]
        lesson.summary = data.get("summary", "").strip()
        if lesson.graph != data["graph"]:
            lesson.graph = data["graph"]
            lesson.computed = None  # recomputed with torch on first use
            lesson.computed_checksum = ""
        lesson.source_checksum = checksum
        lesson.save()
        numbers = []
        for step_data in data["steps"]:
            _step_save(lesson=lesson, data=step_data)
            numbers.append(step_data["number"])
        lesson.steps.exclude(number__in=numbers).delete()
        # Answers may have changed: force a recomputation of the numeric answers too.
        Lesson.objects.filter(pk=lesson.pk).update(computed=None, computed_checksum="")
    return lesson, True


def _step_save(*, lesson: Lesson, data: dict) -> LessonStep:
    question = data["question"]
    kind = question["kind"]
    if kind not in LessonStep.Kind.values:
        raise ValueError(f"step {data['number']}: unknown question kind {kind!r}")
    if kind == LessonStep.Kind.CHOICE and question["correct"] not in {
        choice["key"] for choice in question["choices"]
    }:
        raise ValueError(f"step {data['number']}: the correct key is not one of the choices")
    step = LessonStep.objects.filter(lesson=lesson, number=data["number"]).first()
    step = step or LessonStep(lesson=lesson, number=data["number"])
    step.title = data["title"]
    step.explanation = data["explanation"]
    step.code = data.get("code", "").rstrip() + "\n"
    step.kind = kind
    step.prompt = question["prompt"].strip()
    step.choices = question.get("choices", [])
    step.correct = question.get("correct", "")
    step.answer = question.get("answer", {})
    step.hint = question.get("hint", "")
    step.feedback = question.get("feedback", "")
    step.unlocks = data.get("unlocks", [])
    content_render(obj=step)
    step.save()
    return step


def content_render(*, obj) -> None:
    """(Re-)render the markdown fields of a content row (not saved)."""
    if isinstance(obj, LessonStep):
        obj.explanation_html = markdown_render(text=obj.explanation)
        obj.prompt_html = markdown_render(text=obj.prompt)
        obj.feedback_html = markdown_render(text=obj.feedback)
    elif isinstance(obj, Article):
        obj.body_html = markdown_render(text=obj.body)
    elif isinstance(obj, FaqEntry):
        obj.answer_html = markdown_render(text=obj.answer)


def article_upsert(
    *, slug: str, title: str, summary: str, body: str, checksum: str, rendered_with: str
) -> tuple[Article, bool]:
    article = Article.objects.filter(slug=slug).first()
    if (
        article is not None
        and article.source_checksum == checksum
        and article.rendered_with == rendered_with
    ):
        return article, False
    article = article or Article(slug=slug)
    article.title, article.summary, article.body = title, summary, body
    article.source_checksum, article.rendered_with = checksum, rendered_with
    content_render(obj=article)
    article.save()
    return article, True


def faq_upsert(
    *, slug: str, position: int, question: str, answer: str, checksum: str, rendered_with: str
) -> tuple[FaqEntry, bool]:
    entry = FaqEntry.objects.filter(slug=slug).first()
    if (
        entry is not None
        and entry.source_checksum == checksum
        and entry.rendered_with == rendered_with
        and entry.position == position
    ):
        return entry, False
    entry = entry or FaqEntry(slug=slug)
    entry.position, entry.question, entry.answer = position, question, answer
    entry.source_checksum, entry.rendered_with = checksum, rendered_with
    content_render(obj=entry)
    entry.save()
    return entry, True


# --- answers ----------------------------------------------------------------------------------
@dataclass
class AnswerResult:
    correct: bool
    message: str
    # True when the input could not be read at all (not a number, no option picked): the
    # learner gets HTTP 400 and the attempt is not counted.
    malformed: bool = False
    expected: float | None = None
    unlocked: list[str] = field(default_factory=list)


def answer_parse_number(*, raw: str) -> float:
    """The learner's number, or ValidationError with a message that says what to type."""
    text = (raw or "").strip().replace("−", "-")  # a typographic minus counts
    if not text:
        raise ValidationError("Type a number, for example 0.25.")
    if len(text) > ANSWER_MAX_CHARS:
        raise ValidationError(f"That answer is too long: at most {ANSWER_MAX_CHARS} characters.")
    if "," in text and "." not in text and text.count(",") == 1:
        raise ValidationError("Use a dot for decimals: 0.25, not 0,25.")
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(
            f"“{text}” is not a number. Type a decimal number such as 0.25 or -1.5e-3."
        ) from None
    if not math.isfinite(value):
        raise ValidationError("Type a finite number (not NaN or infinity).")
    return value


def answer_check(*, step: LessonStep, raw: str, expected: float | None = None) -> AnswerResult:
    """Check one answer. `expected` is the numeric step's value computed with torch."""
    if step.kind == LessonStep.Kind.CHOICE:
        keys = {choice["key"] for choice in step.choices}
        choice = (raw or "").strip()
        if not choice:
            return AnswerResult(False, "Pick one of the options.", malformed=True)
        if choice not in keys:
            return AnswerResult(False, "That is not one of the options.", malformed=True)
        if choice == step.correct:
            return AnswerResult(True, "Correct!", unlocked=list(step.unlocks))
        return AnswerResult(False, f"Not quite. Hint: {step.hint}" if step.hint else "Not quite.")
    try:
        value = answer_parse_number(raw=raw)
    except ValidationError as error:
        return AnswerResult(False, error.messages[0], malformed=True)
    if expected is None:
        raise ValueError(f"step {step.number} needs the computed answer to check against")
    if abs(value - expected) <= max(ABS_TOLERANCE, REL_TOLERANCE * abs(expected)):
        return AnswerResult(
            True, f"Correct! The exact value is {expected:.6f}.", expected=expected,
            unlocked=list(step.unlocks),
        )  # fmt: skip
    hint = f" Hint: {step.hint}" if step.hint else ""
    return AnswerResult(False, f"Not quite: {value:g} is not it.{hint}")


class StepLocked(PermissionDenied):
    """The learner tried a step beyond the first one they have not answered yet."""

    def __init__(self, *, number: int, open_step: int) -> None:
        super().__init__(f"Step {number} is locked: answer step {open_step} first.")
        self.number = number
        self.open_step = open_step


def step_check_open(*, steps: list[LessonStep], step: LessonStep, progress) -> None:
    """Raise StepLocked unless the learner has answered every step before this one."""
    open_step = selectors.progress_open_step(progress=progress, total=len(steps))
    if step.number > open_step:
        raise StepLocked(number=step.number, open_step=open_step)


def lesson_answer_submit(
    *,
    lesson: Lesson,
    steps: list[LessonStep],
    step: LessonStep,
    progress: LessonProgress,
    raw: str,
    learner_key: str,
) -> tuple[AnswerResult, LessonProgress]:
    """One answer to a step, as the page and the API take it: the step must be open
    (StepLocked), answers are rate limited per learner (RateLimited), the answer is checked
    against the value computed for the step, and a readable attempt is counted."""
    step_check_open(steps=steps, step=step, progress=progress)
    rate_limit(
        scope="lesson-answer",
        key=learner_key,
        limit=ANSWER_RATE_LIMIT,
        period_seconds=ANSWER_RATE_PERIOD_SECONDS,
    )
    expected = selectors.step_expected(lesson=lesson, step=step)
    result = answer_check(step=step, raw=raw, expected=expected)
    return result, progress_record_answer(progress=progress, step=step, result=result)


# --- progress -------------------------------------------------------------------------------
def progress_for_request(*, request, lesson: Lesson, create: bool) -> LessonProgress | None:
    """The visitor's progress: by user when logged in, else by a token in their session."""
    if request.user.is_authenticated:
        progress = LessonProgress.objects.filter(lesson=lesson, user=request.user).first()
        if progress is None and create:
            progress = _progress_create(lesson=lesson, user=request.user)
        return progress
    token = request.session.get(SESSION_TOKEN_KEY)
    if token:
        progress = LessonProgress.objects.filter(lesson=lesson, anon_token=token).first()
        if progress is not None or not create:
            return progress
    if not create:
        return None
    token = str(uuid.uuid4())
    request.session[SESSION_TOKEN_KEY] = token
    return _progress_create(lesson=lesson, anon_token=token)


def _progress_create(*, lesson: Lesson, user=None, anon_token=None) -> LessonProgress:
    try:
        with transaction.atomic():
            return LessonProgress.objects.create(lesson=lesson, user=user, anon_token=anon_token)
    except IntegrityError:  # a concurrent request created it first
        if user is not None:
            return LessonProgress.objects.get(lesson=lesson, user=user)
        return LessonProgress.objects.get(lesson=lesson, anon_token=anon_token)


def progress_record_answer(
    *, progress: LessonProgress, step: LessonStep, result: AnswerResult
) -> LessonProgress:
    """Count the attempt; on a right answer mark the step done (and the lesson when all are)."""
    if result.malformed:
        return progress
    with transaction.atomic():
        progress = LessonProgress.objects.select_for_update().get(pk=progress.pk)
        progress.attempts += 1
        if result.correct and step.number not in progress.completed_steps:
            progress.completed_steps = sorted({*progress.completed_steps, step.number})
        total = step.lesson.steps.count()
        if progress.completed_at is None and len(progress.completed_steps) >= total:
            progress.completed_at = timezone.now()
        progress.save()
    return progress


def progress_reset(*, progress: LessonProgress | None) -> None:
    """Start the lesson over: the learner's answers, attempts and completion are forgotten."""
    if progress is not None:
        LessonProgress.objects.filter(pk=progress.pk).delete()


def progress_merge_on_login(*, user, session) -> LessonProgress | None:
    """Carry an anonymous visitor's progress over to the account they just logged in to.

    The token lives in the session data, which Django keeps across the session-key change at
    log-in. Steps done in either are kept; the anonymous row is removed.
    """
    token = session.get(SESSION_TOKEN_KEY)
    if not token:
        return None
    merged = None
    with transaction.atomic():
        for anonymous in LessonProgress.objects.select_for_update().filter(anon_token=token):
            own = (
                LessonProgress.objects.select_for_update()
                .filter(lesson_id=anonymous.lesson_id, user=user)
                .first()
            )
            if own is None:
                anonymous.user, anonymous.anon_token = user, None
                anonymous.save()
                merged = anonymous
                continue
            own.completed_steps = sorted({*own.completed_steps, *anonymous.completed_steps})
            own.attempts += anonymous.attempts
            finished = [stamp for stamp in (own.completed_at, anonymous.completed_at) if stamp]
            own.completed_at = min(finished) if finished else None
            if own.completed_at is None and len(own.completed_steps) >= own.lesson.steps.count():
                own.completed_at = timezone.now()
            anonymous.delete()
            own.save()
            merged = own
    session.pop(SESSION_TOKEN_KEY, None)
    return merged
