import pytest

from hub.learn.selectors import lesson_step, step_expected
from hub.learn.services import answer_check

pytestmark = pytest.mark.django_db


@pytest.fixture
def choice_step(lesson):
    return lesson_step(lesson=lesson, number=1)


@pytest.fixture
def numeric_step(lesson):
    return lesson_step(lesson=lesson, number=3)  # ∂L/∂w2


def test_the_right_choice_is_correct_and_unlocks_the_steps_nodes(choice_step):
    result = answer_check(step=choice_step, raw=choice_step.correct)
    assert result.correct and result.unlocked == choice_step.unlocks and not result.malformed


def test_a_wrong_choice_is_not_correct_and_gives_the_hint(choice_step):
    wrong = next(c["key"] for c in choice_step.choices if c["key"] != choice_step.correct)
    result = answer_check(step=choice_step, raw=wrong)
    assert not result.correct and not result.malformed
    assert choice_step.hint in result.message and result.unlocked == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [("", "Pick one of the options."), ("z", "That is not one of the options.")],
)
def test_a_missing_or_unknown_choice_is_malformed(choice_step, raw, message):
    result = answer_check(step=choice_step, raw=raw)
    assert result.malformed and not result.correct and result.message == message


def test_numeric_answers_within_the_tolerance_are_right(lesson, numeric_step):
    expected = step_expected(lesson=lesson, step=numeric_step)
    for typed in (f"{expected:.3f}", f"{expected:.4f}", f" {expected + 0.0015:.5f} "):
        assert answer_check(step=numeric_step, raw=typed, expected=expected).correct, typed


def test_numeric_answers_outside_the_tolerance_are_wrong(lesson, numeric_step):
    expected = step_expected(lesson=lesson, step=numeric_step)
    for typed in (f"{expected + 0.01:.4f}", f"{-expected:.4f}", "0", f"{2 * expected:.4f}"):
        result = answer_check(step=numeric_step, raw=typed, expected=expected)
        assert not result.correct and not result.malformed, typed


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Type a number, for example 0.25."),
        ("abc", "“abc” is not a number."),
        ("0,229", "Use a dot for decimals"),
        ("nan", "finite number"),
        ("1" * 80, "too long"),
    ],
)
def test_malformed_numbers_get_a_clear_message(lesson, numeric_step, raw, message):
    expected = step_expected(lesson=lesson, step=numeric_step)
    result = answer_check(step=numeric_step, raw=raw, expected=expected)
    assert result.malformed and not result.correct
    assert message in result.message


def test_a_typographic_minus_is_accepted(lesson):
    step = lesson_step(lesson=lesson, number=3)
    assert answer_check(step=step, raw="−1", expected=-1.0).correct


def test_submitting_a_later_step_is_refused_until_the_earlier_ones_are_right(lesson, right_answers):
    import uuid

    from hub.learn.models import LessonProgress
    from hub.learn.selectors import lesson_steps
    from hub.learn.services import StepLocked, lesson_answer_submit

    steps = lesson_steps(lesson=lesson)
    progress = LessonProgress.objects.create(lesson=lesson, anon_token=uuid.uuid4())

    def submit(number, raw):
        return lesson_answer_submit(
            lesson=lesson,
            steps=steps,
            step=steps[number - 1],
            progress=progress,
            raw=raw,
            learner_key="learner",
        )

    with pytest.raises(StepLocked, match="Step 2 is locked: answer step 1 first"):
        submit(2, right_answers[2])
    result, progress = submit(1, right_answers[1])
    assert result.correct and progress.completed_steps == [1] and progress.attempts == 1
    result, progress = submit(2, "not a number at all")
    assert result.malformed and progress.attempts == 1  # an unreadable answer is not counted
    result, progress = submit(2, right_answers[2])
    assert result.correct and progress.completed_steps == [1, 2] and progress.attempts == 2
