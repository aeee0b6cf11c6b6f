import pytest
from django.contrib.auth import get_user_model

from hub.learn.models import LessonProgress
from hub.learn.services import SESSION_TOKEN_KEY

pytestmark = pytest.mark.django_db


def _answer(client, step: int, answer: str, **extra):
    return client.post(f"/learn/backprop/{step}/", {"answer": answer}, **extra)


def _complete(client, right_answers, upto: int):
    for number in range(1, upto + 1):
        response = _answer(client, number, right_answers[number])
        assert response.status_code == 302, (number, response.content.decode()[:500])


def test_a_new_visitor_starts_at_step_one_and_later_steps_are_locked(client, lesson):
    assert client.get("/learn/backprop/")["Location"] == "/learn/backprop/1/"
    response = client.get("/learn/backprop/3/")
    assert response.status_code == 302 and response["Location"] == "/learn/backprop/1/"
    assert _answer(client, 3, "0.2")["Location"] == "/learn/backprop/1/"  # cannot answer ahead
    assert not LessonProgress.objects.filter(completed_steps__contains=[3]).exists()
    assert client.get("/learn/backprop/9/").status_code == 404


def test_step_page_shows_the_tutor_main_py_and_the_logic_verification(client, lesson):
    html = client.get("/learn/backprop/1/").content.decode()
    assert "The tutor explains" in html
    assert 'main.py <span class="muted">1 / 8</span>' in html
    assert "Logic Verification" in html and "What is the input to the" in html
    assert html.count('class="gm-node') == 11 and html.count("is-locked") == 11


def test_a_numeric_prompt_shows_the_values_computed_with_torch(client, lesson, right_answers):
    _complete(client, right_answers, upto=2)
    html = client.get("/learn/backprop/3/").content.decode()
    assert '<span class="num">0.3674</span>' in html  # ∂L/∂z2 = 2(z2 − y)
    assert '<span class="num">0.6225</span>' in html  # a1 = σ(0.5)
    assert "[[" not in html


def test_a_right_answer_unlocks_the_next_step_and_the_steps_nodes(client, lesson, right_answers):
    response = _answer(client, 1, right_answers[1])
    assert response["Location"] == "/learn/backprop/1/"
    html = client.get("/learn/backprop/1/").content.decode()
    assert "Answered correctly" in html and 'href="/learn/backprop/2/"' in html
    for node in ("x", "y", "L"):
        assert f'is-unlocked" data-node="{node}"' in html
    assert html.count("is-locked") == 8
    assert client.get("/learn/backprop/")["Location"] == "/learn/backprop/2/"
    assert client.get("/learn/backprop/2/").status_code == 200


def test_a_wrong_answer_shows_feedback_and_unlocks_nothing(client, lesson):
    response = _answer(client, 1, "a")
    assert response.status_code == 200
    assert "Not quite" in response.content.decode()
    progress = LessonProgress.objects.get()
    assert progress.completed_steps == [] and progress.attempts == 1
    assert client.get("/learn/backprop/2/")["Location"] == "/learn/backprop/1/"


def test_malformed_input_is_a_400_with_a_clear_message_and_no_attempt(
    client, lesson, right_answers
):
    _complete(client, right_answers, upto=2)
    response = _answer(client, 3, "two")
    assert response.status_code == 400
    assert "“two” is not a number" in response.content.decode()
    response = _answer(client, 3, "two", HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["malformed"] is True
    assert LessonProgress.objects.get().attempts == 2  # the two right answers only


def test_the_json_answer_returns_feedback_the_next_step_and_the_new_graph(
    client, lesson, right_answers
):
    response = _answer(client, 1, right_answers[1], HTTP_ACCEPT="application/json")
    data = response.json()
    assert data["correct"] and data["next_url"] == "/learn/backprop/2/"
    assert data["unlocked"] == ["x", "y", "L"]
    assert 'is-unlocked" data-node="x"' in data["graph_html"]
    wrong = _answer(client, 2, "a", HTTP_ACCEPT="application/json").json()
    assert not wrong["correct"] and wrong["next_url"] == "" and "graph_html" not in wrong
    locked = _answer(client, 5, "1", HTTP_ACCEPT="application/json")
    assert locked.status_code == 403 and "answer step 2 first" in locked.json()["error"]


def test_completing_the_lesson_reveals_values_and_gradients_on_every_edge(
    client, lesson, right_answers
):
    _complete(client, right_answers, upto=8)
    progress = LessonProgress.objects.get()
    assert progress.completed_steps == list(range(1, 9)) and progress.completed_at is not None
    assert client.get("/learn/backprop/")["Location"] == "/learn/backprop/8/"
    html = client.get("/learn/backprop/8/").content.decode()
    assert "Lesson complete" in html and "is-locked" not in html
    assert html.count('class="gm-edge-grad"') == 10 and html.count('class="gm-edge-value"') == 10
    assert "∇ 0.2287" in html  # ∂L/∂w2 along w2 → z2


def test_progress_is_kept_per_user_across_sessions(client, lesson, right_answers):
    user = get_user_model().objects.create_user("learner", password="pw-12345-xyz")
    client.force_login(user)
    _complete(client, right_answers, upto=3)
    client.logout()
    assert client.get("/learn/backprop/")["Location"] == "/learn/backprop/1/"  # anonymous now
    client.force_login(user)
    assert client.get("/learn/backprop/")["Location"] == "/learn/backprop/4/"
    assert LessonProgress.objects.get(user=user).anon_token is None


def test_anonymous_progress_is_carried_over_on_log_in(client, lesson, right_answers):
    _complete(client, right_answers, upto=2)
    assert client.session.get(SESSION_TOKEN_KEY)
    user = get_user_model().objects.create_user("newcomer", password="pw-12345-xyz")
    assert client.login(username="newcomer", password="pw-12345-xyz")
    progress = LessonProgress.objects.get()
    assert progress.user == user and progress.anon_token is None
    assert progress.completed_steps == [1, 2]
    assert client.get("/learn/backprop/")["Location"] == "/learn/backprop/3/"


def test_carried_over_progress_merges_with_the_accounts_own(client, lesson, right_answers):
    user = get_user_model().objects.create_user("returning", password="pw-12345-xyz")
    client.force_login(user)
    _complete(client, right_answers, upto=1)
    client.logout()
    _complete(client, right_answers, upto=3)  # further, as a visitor
    client.login(username="returning", password="pw-12345-xyz")
    assert LessonProgress.objects.count() == 1
    progress = LessonProgress.objects.get()
    assert progress.user == user and progress.completed_steps == [1, 2, 3]


def test_lesson_pages_say_so_when_the_content_is_not_loaded(client, db):
    response = client.get("/learn/backprop/")
    assert response.status_code == 404


def test_answering_too_fast_is_refused_with_429_and_retry_after(client, lesson, monkeypatch):
    from types import SimpleNamespace

    from hub.core import ratelimit
    from hub.learn import services

    # One fixed window for the whole test, so the count cannot straddle a minute boundary.
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    for _ in range(services.ANSWER_RATE_LIMIT):
        assert _answer(client, 1, "a").status_code == 200
    refused = _answer(client, 1, "b")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "try again in" in refused.content.decode()
    as_json = _answer(client, 1, "b", HTTP_ACCEPT="application/json")
    assert as_json.status_code == 429 and "try again in" in as_json.json()["error"]
    assert LessonProgress.objects.get().completed_steps == []


def test_signing_up_carries_the_visitors_progress_over_to_the_new_account(
    client, lesson, right_answers
):
    _complete(client, right_answers, upto=4)
    response = client.post(
        "/accounts/signup/",
        {
            "username": "fresh-learner",
            "email": "fresh@example.com",
            "password1": "a-long-unusual-passphrase-42",
            "password2": "a-long-unusual-passphrase-42",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    progress = LessonProgress.objects.get()
    assert progress.user.username == "fresh-learner" and progress.completed_steps == [1, 2, 3, 4]
    assert client.get("/learn/backprop/")["Location"] == "/learn/backprop/5/"


def test_starting_over_forgets_the_answers_and_locks_the_graph_again(client, lesson, right_answers):
    assert "Start over" not in client.get("/learn/backprop/1/").content.decode()
    _complete(client, right_answers, upto=2)
    assert "Start over" in client.get("/learn/backprop/3/").content.decode()
    assert client.get("/learn/backprop/reset/").status_code == 405  # a change needs a POST
    response = client.post("/learn/backprop/reset/")
    assert response["Location"] == "/learn/backprop/1/"
    html = client.get("/learn/backprop/1/").content.decode()
    assert "progress was reset" in html and html.count("is-locked") == 11
    assert client.get("/learn/backprop/")["Location"] == "/learn/backprop/1/"
    assert not LessonProgress.objects.exists()


def test_every_step_unlocks_a_node_the_last_one_the_sigmoids_slope(lesson, lesson_data):
    # after step 7 the matrix used to be complete: step 8 unlocked nothing
    assert all(step["unlocks"] for step in lesson_data["steps"])
    assert lesson_data["steps"][-1]["unlocks"] == ["s1"]
    from hub.learn.selectors import lesson_computed

    computed = lesson_computed(lesson=lesson)
    values, grads = computed["values"], computed["grads"]
    assert values["s1"] == pytest.approx(values["a1"] * (1 - values["a1"]))  # ≈ 0.235
    assert grads["s1"] == 0.0  # a probe beside the network: the loss does not depend on it
