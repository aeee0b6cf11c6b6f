"""The lesson through the API: progress, steps (locked until reached) and answers."""

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.django_db

LESSON_FILE = Path(__file__).resolve().parents[3] / "content" / "lesson" / "backprop.yaml"


@pytest.fixture
def lesson_steps():
    from hub.learn.selectors import lesson_steps, step_expected
    from hub.learn.services import lesson_upsert

    lesson, _ = lesson_upsert(data=yaml.safe_load(LESSON_FILE.read_text("utf-8")), checksum="t")
    right = {}
    for step in lesson_steps(lesson=lesson):
        right[step.number] = (
            step.correct
            if step.kind == "choice"
            else f"{step_expected(lesson=lesson, step=step):.4f}"
        )
    return right


def test_progress_starts_empty_and_later_steps_are_locked(lesson_steps, make_user, client_for):
    client = client_for(make_user())
    progress = client.get("/api/v1/lesson/").json()
    assert progress["completed_steps"] == [] and progress["open_step"] == 1
    assert progress["total_steps"] == len(lesson_steps) and progress["is_complete"] is False
    assert client.get("/api/v1/lesson/steps/1/").json()["prompt_html"]
    locked = client.post("/api/v1/lesson/steps/2/answer/", {"answer": "1"}, format="json")
    assert locked.status_code == 403 and "locked" in locked.json()["error"]["message"]
    assert client.get(f"/api/v1/lesson/steps/{len(lesson_steps) + 1}/").status_code == 404


def test_answers_complete_steps_in_order_and_finish_the_lesson(lesson_steps, make_user, client_for):
    client = client_for(make_user())
    wrong = client.post(
        "/api/v1/lesson/steps/1/answer/", {"answer": "zz-not-an-option"}, format="json"
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["fields"]["answer"]
    for number, answer in lesson_steps.items():
        result = client.post(
            f"/api/v1/lesson/steps/{number}/answer/", {"answer": answer}, format="json"
        )
        assert result.status_code == 200 and result.json()["correct"] is True, result.content
    progress = client.get("/api/v1/lesson/").json()
    assert progress["is_complete"] is True
    assert progress["completed_steps"] == sorted(lesson_steps)


def test_a_wrong_number_is_counted_but_completes_nothing(lesson_steps, make_user, client_for):
    client = client_for(make_user())
    client.post("/api/v1/lesson/steps/1/answer/", {"answer": lesson_steps[1]}, format="json")
    numeric = next(
        n for n, a in lesson_steps.items() if n > 1 and a.replace(".", "").lstrip("-").isdigit()
    )
    if numeric != 2:
        for number in range(2, numeric):
            client.post(
                f"/api/v1/lesson/steps/{number}/answer/",
                {"answer": lesson_steps[number]},
                format="json",
            )
    result = client.post(
        f"/api/v1/lesson/steps/{numeric}/answer/", {"answer": "12345"}, format="json"
    )
    assert result.status_code == 200 and result.json()["correct"] is False
    assert numeric not in result.json()["progress"]["completed_steps"]


def test_the_lesson_needs_a_login(lesson_steps, client_for):
    assert client_for(None).get("/api/v1/lesson/").status_code == 401


def test_deleting_the_progress_starts_the_lesson_over(lesson_steps, make_user, client_for):
    client = client_for(make_user())
    client.post("/api/v1/lesson/steps/1/answer/", {"answer": lesson_steps[1]}, format="json")
    assert client.get("/api/v1/lesson/").json()["completed_steps"] == [1]
    assert client.delete("/api/v1/lesson/").status_code == 204
    progress = client.get("/api/v1/lesson/").json()
    assert progress["completed_steps"] == [] and progress["open_step"] == 1
    assert progress["attempts"] == 0
    assert client.get("/api/v1/lesson/steps/2/").status_code == 403
