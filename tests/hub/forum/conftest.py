"""Fixtures for the forum tests: people with a given reputation, questions, answers."""

import itertools

import pytest
from django.contrib.auth.models import Group

from hub.accounts.models import Profile
from hub.accounts.services import user_create
from hub.forum import services

_counter = itertools.count()


@pytest.fixture
def make_user(db):
    def make(*, username: str | None = None, reputation: int = 1, moderator: bool = False):
        username = username or f"user{next(_counter)}x"
        user = user_create(
            username=username, email=f"{username}@example.com", password="a-long-passphrase-42"
        )
        if reputation != 1:
            Profile.objects.filter(user=user).update(reputation=reputation)
            user.profile.refresh_from_db()
        if moderator:
            group, _ = Group.objects.get_or_create(name="moderators")
            user.groups.add(group)
        return user

    return make


@pytest.fixture
def asker(make_user):
    return make_user(reputation=50)


@pytest.fixture
def answerer(make_user):
    return make_user(reputation=50)


@pytest.fixture
def moderator(make_user):
    return make_user(moderator=True)


@pytest.fixture
def make_question(asker):
    def make(*, author=None, title="Why does my loss not decrease at all?", body=None, tags=None):
        return services.question_create(
            author=author or asker,
            title=title,
            body=body or "My training loss stays flat at 2.30 for every epoch.",
            tags=tags if tags is not None else ["pytorch", "training"],
        )

    return make


@pytest.fixture
def question(make_question):
    return make_question()


@pytest.fixture
def answer(question, answerer):
    return services.answer_create(
        author=answerer, question=question, body="You forgot optimizer.zero_grad() in the loop."
    )
