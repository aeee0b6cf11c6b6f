"""The list and the question page cost a fixed number of queries, however busy they are."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.forum import services
from hub.forum.services import limits

# Measured on this code plus one of headroom. Anonymous question page: question, answers,
# their comments, question comments, tag list, traces fragment. A member adds session, user,
# profile, votes, moderator check, follow state, unread count. The list: count, page, tags.
# The comparisons below check that they do not grow with the number of rows.
MAX_LIST_QUERIES = 4
MAX_QUESTION_PAGE_QUERIES = {False: 7, True: 13}


def _busy_question(make_question, make_user, *, answers: int, comments: int):
    question = make_question(tags=["pytorch", "autograd", "optimizer"])
    people = [make_user(reputation=500) for _ in range(3)]
    for n in range(answers):
        answer = services.answer_create(
            author=people[n % 3], question=question, body=f"Answer number {n} with `code`."
        )
        for m in range(comments):
            services.comment_create(
                author=people[(n + m) % 3], target=answer, body=f"Comment {m} on answer {n}."
            )
        services.vote_cast(user=people[(n + 1) % 3], target=answer, value=1)
    for m in range(comments):
        services.comment_create(author=people[m % 3], target=question, body=f"Question comment {m}")
    return question, people


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.fixture(autouse=True)
def _no_rate_limits(monkeypatch):
    monkeypatch.setattr(limits, "user_rate_limit", lambda **kwargs: None)


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "member"])
def test_question_page_query_count_does_not_grow_with_answers_and_comments(
    client, make_question, make_user, django_assert_max_num_queries, logged_in
):
    small, people = _busy_question(make_question, make_user, answers=2, comments=1)
    big, _ = _busy_question(make_question, make_user, answers=12, comments=3)
    if logged_in:
        client.force_login(people[0])
    client.get(small.get_absolute_url())  # warm the view counter and sessions
    client.get(big.get_absolute_url())
    assert _count(client, small.get_absolute_url()) == _count(client, big.get_absolute_url())
    with django_assert_max_num_queries(MAX_QUESTION_PAGE_QUERIES[logged_in]):
        client.get(big.get_absolute_url())


def test_question_list_query_count_does_not_grow_with_questions(
    client, make_question, make_user, django_assert_max_num_queries
):
    author = make_user(reputation=500)
    make_question(author=author, title="The only question for now")
    few = _count(client, "/questions/")
    for n in range(22):
        make_question(author=make_user(reputation=500), title=f"Question number {n} about autograd")
    for sort in ("newest", "active", "top", "unanswered"):
        # Rows cached by an earlier sort skip the load of their questions: never more.
        assert _count(client, f"/questions/?sort={sort}") <= few
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        client.get("/questions/?page=2")


def test_anonymous_question_page_render_query_count_does_not_grow(
    client, make_question, make_user, django_assert_max_num_queries
):
    """The render behind the cached page: a bump leaves nothing of the page cached."""
    small, _ = _busy_question(make_question, make_user, answers=2, comments=1)
    big, _ = _busy_question(make_question, make_user, answers=12, comments=3)
    client.get(small.get_absolute_url())  # warm the view counter
    client.get(big.get_absolute_url())

    def render_count(question) -> int:
        services.question_render_bump(question_id=question.pk)
        return _count(client, question.get_absolute_url())

    assert render_count(small) == render_count(big) > 0
    services.question_render_bump(question_id=big.pk)
    with django_assert_max_num_queries(MAX_QUESTION_PAGE_QUERIES[False]):
        client.get(big.get_absolute_url())
