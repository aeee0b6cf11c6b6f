"""manage.py forum_recount (and forum_reindex): denormalised values restored from the rows."""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from hub.accounts.models import Profile
from hub.accounts.services import bot_user_get
from hub.forum import services
from hub.forum.models import Answer, Comment, Question
from hub.forum.page_cache import question_version_key


def _recount(*args) -> str:
    out = StringIO()
    call_command("forum_recount", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def thread(question, answer, asker, answerer, moderator, make_user):
    """A question with a voted answer, a hidden answer, the bot's answer and a comment."""
    voter = make_user(reputation=200)
    services.vote_cast(user=voter, target=question, value=1)
    services.vote_cast(user=voter, target=answer, value=-1)
    services.vote_cast(user=asker, target=answer, value=1)
    hidden = services.answer_create(
        author=make_user(), question=question, body="An answer a moderator hides."
    )
    services.post_hide(moderator=moderator, target=hidden)
    services.answer_create(
        author=bot_user_get(), question=question, body="**Exploding gradients**", automated=True
    )
    comment = services.comment_create(author=asker, target=answer, body="Thanks, *that* was it.")
    return question, answer, comment


def _state(question, answer, comment) -> dict:
    q = Question.objects.get(pk=question.pk)
    a = Answer.objects.get(pk=answer.pk)
    return {
        "question score": q.score,
        "answer count": q.answer_count,
        "question body": q.body_html,
        "excerpt": q.excerpt,
        "search vector": q.search_vector,
        "answer score": a.score,
        "answer body": a.body_html,
        "comment body": Comment.objects.get(pk=comment.pk).body_html,
    }


def test_the_services_leave_nothing_to_recount(thread):
    """The recount's rules are the services' rules: on rows they wrote, nothing changes."""
    assert _recount().endswith("Rows changed: 0.\n")


def test_the_recount_counts_visible_answers_by_people_only(thread):
    question, answer, comment = thread
    Question.objects.filter(pk=question.pk).update(answer_count=0)
    _recount()
    # Of the answer, the hidden one and the Gradient Doctor's diagnosis, only the first counts.
    assert Question.objects.get(pk=question.pk).answer_count == 1


def test_recount_restores_every_corrupted_value_and_a_second_run_changes_nothing(thread):
    question, answer, comment = thread
    good = _state(question, answer, comment)
    assert good["question score"] == 1 and good["answer score"] == 0
    assert good["answer count"] == 1  # neither the hidden answer nor the bot's counts
    assert good["search vector"]

    Question.objects.filter(pk=question.pk).update(
        score=41, answer_count=7, body_html="<p>stale</p>", excerpt="stale", search_vector=None
    )
    Answer.objects.filter(pk=answer.pk).update(score=-9, body_html="<p>stale</p>")
    Comment.objects.filter(pk=comment.pk).update(body_html="<p>stale</p>")
    page_version = cache.get(question_version_key(question.pk))

    output = _recount()

    assert _state(question, answer, comment) == good
    for label in (
        "question scores",
        "answer scores",
        "question answer counts",
        "question bodies",
        "answer bodies",
        "comment bodies",
        "question search vectors",
    ):
        assert f"{label}: 1 changed" in output, output
    # The excerpt comes from the re-rendered body
    assert f"question excerpts: 1 changed (ids {question.pk})" in output
    # The cached pages that showed the wrong values are stale
    assert cache.get(question_version_key(question.pk)) != page_version

    assert _recount().endswith("Rows changed: 0.\n")
    assert _state(question, answer, comment) == good


def test_recount_only_some_values_in_small_batches(thread, make_question):
    question, answer, comment = thread
    others = [make_question(title=f"Another question number {n}") for n in range(3)]
    Question.objects.update(score=5)
    Answer.objects.filter(pk=answer.pk).update(body_html="<p>stale</p>")

    output = _recount("--only", "scores", "--batch-size", "2")

    assert f"question scores: {len(others) + 1} changed" in output
    assert "answer bodies" not in output
    assert Question.objects.get(pk=question.pk).score == 1
    assert {q.score for q in Question.objects.filter(pk__in=[o.pk for o in others])} == {0}
    assert Answer.objects.get(pk=answer.pk).body_html == "<p>stale</p>"


def test_recount_leaves_reputation_alone(thread, answerer):
    """Reputation cannot be recomputed from the rows (see the command's help)."""
    Profile.objects.filter(user=answerer).update(reputation=777)
    _recount()
    assert Profile.objects.get(user=answerer).reputation == 777


def test_forum_reindex_rebuilds_search_vectors_and_excerpts(client, thread):
    question, answer, comment = thread
    good = _state(question, answer, comment)
    Question.objects.filter(pk=question.pk).update(search_vector=None, excerpt="")
    assert question.title not in client.get("/search/?q=loss+decrease").content.decode()

    out = StringIO()
    call_command("forum_reindex", stdout=out)

    assert out.getvalue() == "Search vectors rebuilt: 1. Excerpts filled: 1.\n"
    assert _state(question, answer, comment) == good
    assert question.title in client.get("/search/?q=loss+decrease").content.decode()
