import pytest

from hub.forum.services import comment_create
from tests.factories import answer_make, question_make


@pytest.fixture
def moderator(make_user):
    return make_user(is_staff=True)


@pytest.fixture
def question(make_user):
    return question_make(
        author=make_user(),
        title="Cheap watches best prices click here now",
        body="Buy buy buy at a totally legitimate website, best prices on everything.",
        tags=["spam"],
    )


@pytest.fixture
def answer(make_user, question):
    return answer_make(author=make_user(), question=question, body="This is not an answer.")


@pytest.fixture
def comment(make_user, question):
    return comment_create(author=make_user(), target=question, body="you are an idiot")
