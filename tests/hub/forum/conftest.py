"""Fixtures for the forum tests: an asker, an answerer, a moderator, questions, answers."""

import itertools

import pytest

from tests.factories import answer_make, question_make

_ip = itertools.count(1)


@pytest.fixture
def client(client):
    """Each test its own client address: per-IP limits are shared by the whole test run."""
    n = next(_ip)
    client.defaults["REMOTE_ADDR"] = f"10.9.{n // 250}.{n % 250 + 1}"
    return client


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
    def make(*, author=None, **fields):
        return question_make(author=author or asker, **fields)

    return make


@pytest.fixture
def question(make_question):
    return make_question()


@pytest.fixture
def answer(question, answerer):
    return answer_make(author=answerer, question=question)
