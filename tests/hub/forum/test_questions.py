import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hub.core.ratelimit import RateLimited
from hub.forum import services
from hub.forum.models import Comment, Question, Revision, Tag
from hub.forum.services import limits


def test_question_create_renders_stores_tags_and_first_revision(asker):
    question = services.question_create(
        author=asker,
        title="Loss is NaN with AMP after 300 steps",
        body="I use `torch.autocast` and $\\nabla L$ explodes.",
        tags=["AMP", "mixed_precision", "amp"],
    )
    assert question.slug == "loss-is-nan-with-amp-after-300-steps"
    assert question.get_absolute_url() == f"/questions/{question.pk}/{question.slug}/"
    assert '<span class="math inline">\\nabla L</span>' in question.body_html
    assert sorted(question.tags.values_list("name", flat=True)) == ["amp", "mixed-precision"]
    assert Revision.objects.get(question=question).number == 1


def test_question_with_bad_tag_or_too_many_tags_is_refused(asker):
    with pytest.raises(ValidationError):
        services.question_create(
            author=asker, title="A perfectly fine title", body="x" * 40, tags=["<script>"]
        )
    with pytest.raises(ValidationError, match="at most 5"):
        services.question_create(
            author=asker, title="A perfectly fine title", body="x" * 40, tags=list("abcdef")
        )
    assert not Question.objects.exists()


def test_short_title_is_refused(asker):
    with pytest.raises(ValidationError, match="title"):
        services.question_create(author=asker, title="NaN?", body="x" * 40, tags=[])


def test_question_edit_keeps_revisions(question, asker):
    services.question_edit(
        question=question,
        editor=asker,
        title="Why does my loss stay flat at 2.30?",
        body=question.body + "\n\nUpdate: lr is 0.1.",
        tags=["pytorch", "optimizer"],
    )
    question.refresh_from_db()
    revisions = list(Revision.objects.filter(question=question))
    assert [r.number for r in revisions] == [1, 2]
    assert revisions[1].tags == "pytorch optimizer"
    assert question.slug == "why-does-my-loss-stay-flat-at-230"


def test_question_edit_by_another_user_is_refused(question, answerer):
    with pytest.raises(PermissionDenied):
        services.question_edit(
            question=question, editor=answerer, title="Hijacked title", body="x" * 40, tags=[]
        )


def test_question_tags_add_is_the_bots_revision_and_only_when_a_tag_is_new(question):
    services.question_tags_add(question=question, tags=["vanishing-gradients"])
    services.question_tags_add(question=question, tags=["vanishing-gradients", "pytorch"])
    assert question.tags.filter(name="vanishing-gradients").exists()
    original, tagged = Revision.objects.filter(question=question).order_by("number")
    assert tagged.editor.username == "gradient-doctor" and tagged.body == original.body


def test_close_and_reopen_are_for_moderators_only(question, asker, moderator, make_question):
    with pytest.raises(PermissionDenied):
        services.question_close(moderator=asker, question=question, reason="off-topic")
    original = make_question(title="The original question about zero_grad")
    services.question_close(
        moderator=moderator, question=question, reason="duplicate", duplicate_of=original
    )
    question.refresh_from_db()
    assert question.is_closed and question.duplicate_of_id == original.pk
    with pytest.raises(PermissionDenied):
        services.question_reopen(moderator=asker, question=question)
    services.question_reopen(moderator=moderator, question=question)
    question.refresh_from_db()
    assert not question.is_closed and question.duplicate_of is None


def test_close_as_duplicate_needs_another_question(question, moderator):
    with pytest.raises(ValidationError):
        services.question_close(moderator=moderator, question=question, reason="duplicate")
    with pytest.raises(ValidationError):
        services.question_close(
            moderator=moderator, question=question, reason="duplicate", duplicate_of=question
        )
    with pytest.raises(ValidationError):
        services.question_close(moderator=moderator, question=question, reason="boring")


def test_hide_and_unhide_keep_answer_count_honest(question, answer, moderator, asker):
    with pytest.raises(PermissionDenied):
        services.post_hide(moderator=asker, target=answer)
    services.post_hide(moderator=moderator, target=answer)
    question.refresh_from_db()
    assert question.answer_count == 0
    services.post_unhide(moderator=moderator, target=answer)
    question.refresh_from_db()
    assert question.answer_count == 1


def test_comment_create_on_question_and_answer(question, answer, make_user):
    someone = make_user()
    services.comment_create(author=someone, target=question, body="Which PyTorch version?")
    services.comment_create(author=someone, target=answer, body="This fixed it for me, thanks!")
    assert Comment.objects.filter(question=question).count() == 1
    assert Comment.objects.filter(answer=answer).count() == 1
    with pytest.raises(ValidationError):
        services.comment_create(author=someone, target=question, body="ok")


def test_question_rate_limit_is_hit(make_user, monkeypatch):
    monkeypatch.setattr(limits, "RATE_QUESTION", (2, 3600))
    author = make_user(reputation=500)
    for n in range(2):
        services.question_create(
            author=author, title=f"Rate limited question {n}", body="x" * 40, tags=[]
        )
    with pytest.raises(RateLimited) as caught:
        services.question_create(author=author, title="One too many now", body="x" * 40, tags=[])
    assert caught.value.retry_after > 0
    assert Question.objects.filter(author=author).count() == 2


def test_new_accounts_ask_at_most_three_questions_a_day(make_user):
    newcomer = make_user(reputation=1)
    for n in range(services.NEW_USER_QUESTIONS_PER_DAY):
        services.question_create(
            author=newcomer, title=f"Newcomer question {n}", body="x" * 40, tags=[]
        )
    with pytest.raises(RateLimited):
        services.question_create(
            author=newcomer, title="Newcomer question 4", body="x" * 40, tags=[]
        )


def test_vote_and_comment_rate_limits_are_hit(question, make_user, monkeypatch):
    monkeypatch.setattr(limits, "RATE_COMMENT", (1, 600))
    someone = make_user()
    services.comment_create(author=someone, target=question, body="First comment is fine.")
    with pytest.raises(RateLimited):
        services.comment_create(author=someone, target=question, body="Second one is too fast.")
    monkeypatch.setattr(limits, "RATE_VOTE", (1, 3600))
    other = services.question_create(
        author=question.author, title="Another question to vote on", body="x" * 40, tags=[]
    )
    services.vote_cast(user=someone, target=question, value=1)
    with pytest.raises(RateLimited):
        services.vote_cast(user=someone, target=other, value=1)


def test_tags_are_created_on_use_once(asker):
    for n in range(2):
        services.question_create(
            author=asker, title=f"Tagged question number {n}", body="x" * 40, tags=["autograd"]
        )
    assert Tag.objects.filter(name="autograd").count() == 1
