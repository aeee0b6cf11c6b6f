from hub.forum import services


def test_question_answer_vote_accept_round_trip(question, answer, asker, answerer):
    assert services.vote_cast(user=asker, target=answer, value=1) == 1
    services.answer_accept(user=asker, answer=answer)
    question.refresh_from_db()
    answerer.profile.refresh_from_db()
    assert question.accepted_answer_id == answer.pk
    assert question.answer_count == 1
    assert answerer.profile.reputation == 50 + 10 + 15
