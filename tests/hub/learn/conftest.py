from pathlib import Path

import pytest
import yaml

from hub.learn.services import lesson_upsert

LESSON_FILE = Path(__file__).resolve().parents[3] / "content" / "lesson" / "backprop.yaml"


@pytest.fixture
def lesson_data() -> dict:
    return yaml.safe_load(LESSON_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def lesson(db, lesson_data):
    lesson, _ = lesson_upsert(data=lesson_data, checksum="test")
    return lesson


@pytest.fixture
def right_answers(lesson):
    """{step number: a right answer as a learner would type it (3 decimals)}."""
    from hub.learn.selectors import lesson_steps, step_expected

    answers = {}
    for step in lesson_steps(lesson=lesson):
        if step.kind == "choice":
            answers[step.number] = step.correct
        else:
            answers[step.number] = f"{step_expected(lesson=lesson, step=step):.3f}"
    return answers
