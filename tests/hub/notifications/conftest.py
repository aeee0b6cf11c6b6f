import itertools

import pytest

from hub.accounts.services import user_create
from hub.forum.services import question_create

_numbers = itertools.count(1)


@pytest.fixture
def make_user(db):
    def make(username: str | None = None, **extra):
        name = username or f"person{next(_numbers)}"
        user = user_create(username=name, email=f"{name}@example.com", password="correct horse 9")
        for field, value in extra.items():
            setattr(user, field, value)
        if extra:
            user.save()
        return user

    return make


@pytest.fixture
def make_question(make_user):
    def make(author=None, title="Why do my gradients vanish in a deep MLP?", body=None):
        return question_create(
            author=author or make_user(),
            title=title,
            body=body or "My loss is flat after the first epoch and early layers do not learn.",
            tags=["pytorch"],
        )

    return make
