import pytest

from tests.factories import question_make


@pytest.fixture
def make_question(make_user):
    def make(author=None, title="Why do my gradients vanish in a deep MLP?", body=None):
        return question_make(
            author=author or make_user(),
            title=title,
            body=body or "My loss is flat after the first epoch and early layers do not learn.",
            tags=["pytorch"],
        )

    return make
