import itertools

import pytest

from hub.accounts.services import user_create
from hub.forum.services import answer_create, comment_create, question_create

_numbers = itertools.count(1)


@pytest.fixture
def make_user(db):
    def make(username: str | None = None, **extra):
        name = username or f"member{next(_numbers)}"
        user = user_create(username=name, email=f"{name}@example.com", password="correct horse 9")
        for field, value in extra.items():
            setattr(user, field, value)
        if extra:
            user.save()
        return user

    return make


@pytest.fixture
def moderator(make_user):
    return make_user(is_staff=True)


@pytest.fixture
def question(make_user):
    return question_create(
        author=make_user(),
        title="Cheap watches best prices click here now",
        body="Buy buy buy at a totally legitimate website, best prices on everything.",
        tags=["spam"],
    )


@pytest.fixture
def answer(make_user, question):
    return answer_create(author=make_user(), question=question, body="This is not an answer.")


@pytest.fixture
def comment(make_user, question):
    return comment_create(author=make_user(), target=question, body="you are an idiot")
