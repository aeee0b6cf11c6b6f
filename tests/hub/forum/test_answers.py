import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hub.accounts.services import bot_user_get
from hub.forum import services
from hub.forum.models import Question, Revision


def test_answer_accept_by_non_asker_is_refused(answer, answerer, make_user):
    with pytest.raises(PermissionDenied):
        services.answer_accept(user=answerer, answer=answer)
    with pytest.raises(PermissionDenied):
        services.answer_accept(user=make_user(), answer=answer)
    assert Question.objects.get(pk=answer.question_id).accepted_answer_id is None


def test_accepting_another_answer_moves_the_reputation(question, asker, answer, make_user):
    other = make_user()
    second = services.answer_create(author=other, question=question, body="Lower the lr to 1e-4.")
    services.answer_accept(user=asker, answer=answer)
    services.answer_accept(user=asker, answer=second)
    answer.author.profile.refresh_from_db()
    other.profile.refresh_from_db()
    asker.profile.refresh_from_db()
    assert answer.author.profile.reputation == 50  # +15 then -15
    assert other.profile.reputation == 1 + 15
    assert asker.profile.reputation == 50 + 2  # the +2 for accepting is kept once
    assert Question.objects.get(pk=question.pk).accepted_answer_id == second.pk


def test_unaccept_takes_the_reputation_back(question, asker, answer):
    services.answer_accept(user=asker, answer=answer)
    services.answer_unaccept(user=asker, answer=answer)
    answer.author.profile.refresh_from_db()
    assert answer.author.profile.reputation == 50
    assert Question.objects.get(pk=question.pk).accepted_answer_id is None


def test_accepting_your_own_answer_earns_nothing(question, asker):
    own = services.answer_create(author=asker, question=question, body="Solved: I had lr=10.")
    services.answer_accept(user=asker, answer=own)
    asker.profile.refresh_from_db()
    assert asker.profile.reputation == 50


def test_answer_on_closed_question_is_refused(question, moderator, answerer):
    services.question_close(moderator=moderator, question=question, reason="off-topic")
    with pytest.raises(PermissionDenied, match="closed"):
        services.answer_create(author=answerer, question=question, body="Try a smaller lr.")


def test_answer_count_and_revision_kept(question, answer):
    question.refresh_from_db()
    assert question.answer_count == 1
    assert Revision.objects.get(answer=answer).number == 1


def test_answer_edit_keeps_a_revision_and_rerenders(answer, answerer):
    services.answer_edit(answer=answer, editor=answerer, body="Call `optimizer.zero_grad()` first.")
    answer.refresh_from_db()
    assert "<code>optimizer.zero_grad()</code>" in answer.body_html
    assert list(Revision.objects.filter(answer=answer).values_list("number", flat=True)) == [1, 2]


def test_answer_edit_by_someone_else_is_refused(answer, make_user):
    with pytest.raises(PermissionDenied):
        services.answer_edit(answer=answer, editor=make_user(), body="Vandalised text here.")


def test_moderator_may_edit_any_answer(answer, moderator):
    services.answer_edit(answer=answer, editor=moderator, body="Fixed the formatting here.")
    assert Revision.objects.filter(answer=answer, editor=moderator).exists()


def test_bot_answer_is_automated_and_editable_in_place(question):
    bot = bot_user_get()
    assert bot.profile.is_bot and not bot.has_usable_password()
    answer = services.answer_create(
        author=bot, question=question, body="**Vanishing gradients**", automated=True
    )
    assert answer.is_automated
    services.answer_edit(answer=answer, editor=bot, body="**Vanishing gradients** (v2)")
    answer.refresh_from_db()
    assert "(v2)" in answer.body_html
    assert bot_user_get().pk == bot.pk  # created once


def test_empty_answer_is_refused(question, answerer):
    with pytest.raises(ValidationError):
        services.answer_create(author=answerer, question=question, body="   ")


def test_deleting_answers_outside_the_services_keeps_the_answer_count(
    question, answer, answerer, moderator
):
    # The admin and a deleted account's cascade delete rows directly, not through the services.
    second = services.answer_create(author=answerer, question=question, body="Or clip gradients.")
    hidden = services.answer_create(author=answerer, question=question, body="A third idea here.")
    services.post_hide(moderator=moderator, target=hidden)
    question.refresh_from_db()
    assert question.answer_count == 2  # hidden answers are not counted
    second.delete()
    question.refresh_from_db()
    assert question.answer_count == 1
    hidden.delete()
    question.refresh_from_db()
    assert question.answer_count == 1
    answer.delete()
    question.refresh_from_db()
    assert question.answer_count == 0


def _diagnose(question):
    return services.answer_create(
        author=bot_user_get(), question=question, body="**Vanishing gradients**", automated=True
    )


def _answer_count(question) -> int:
    return Question.objects.get(pk=question.pk).answer_count


def test_the_gradient_doctors_diagnosis_is_not_counted_as_an_answer(question, answerer):
    _diagnose(question)
    assert _answer_count(question) == 0
    services.answer_create(author=answerer, question=question, body="Use ReLU and Kaiming init.")
    assert _answer_count(question) == 1


def test_hiding_restoring_and_deleting_a_diagnosis_leave_the_answer_count_alone(
    question, answer, moderator
):
    diagnosis = _diagnose(question)
    services.post_hide(moderator=moderator, target=diagnosis)
    assert _answer_count(question) == 1
    services.post_unhide(moderator=moderator, target=diagnosis)
    assert _answer_count(question) == 1
    diagnosis.delete()  # the admin's way: the post_delete signal keeps the count
    assert _answer_count(question) == 1
