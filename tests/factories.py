"""The suite's one set of factories: people, questions and answers, made through the same
services the site uses, so every row is as the site itself writes it. Fixtures wrap these
(`make_user` in tests/conftest.py); anything else calls them directly."""

import itertools
import os

from django.contrib.auth.models import Group

from hub.accounts.models import Profile
from hub.accounts.services import user_create
from hub.forum import services as forum_services

# Unique within a run; the pid keeps names apart from a worker process's or a second run's.
_numbers = itertools.count(1)


def user_make(
    username: str | None = None,
    *,
    prefix: str = "user",
    reputation: int | None = None,
    moderator: bool = False,
    **fields,
):
    """A member made through sign-up. ``reputation`` is set directly (None keeps the starting
    value); ``moderator`` puts them in the moderators group; other ``fields`` (``is_staff``,
    ``is_active``…) are set on the user."""
    name = username or f"{prefix}{next(_numbers)}x{os.getpid() % 100000}"[:30]
    user = user_create(username=name, email=f"{name}@example.com", password="correct horse 9")
    if fields:
        for field, value in fields.items():
            setattr(user, field, value)
        user.save()
    if reputation is not None:
        Profile.objects.filter(user=user).update(reputation=reputation)
        user.profile.refresh_from_db()
    if moderator:
        group, _ = Group.objects.get_or_create(name="moderators")
        user.groups.add(group)
    return user


def question_make(*, author, title: str | None = None, body: str | None = None, tags=None):
    return forum_services.question_create(
        author=author,
        title=title or "Why does my loss not decrease at all?",
        body=body or "My training loss stays flat at 2.30 for every epoch.",
        tags=tags if tags is not None else ["pytorch"],
    )


def answer_make(*, author, question, body: str | None = None):
    return forum_services.answer_create(
        author=author,
        question=question,
        body=body or "You forgot optimizer.zero_grad() in the loop.",
    )


def thread_with_every_role(prefix: str) -> dict:
    """A thread every role sees differently: an asker, an answerer with an accepted and a
    hidden answer, a member who voted and commented, a moderator; and a second question.
    Member-limits are the caller's to lift (new members may ask few questions)."""
    people = {
        "asker": user_make(f"{prefix}_asker", reputation=120),
        "answerer": user_make(f"{prefix}_answerer", reputation=80),
        "member": user_make(f"{prefix}_member", reputation=300),
        "moderator": user_make(f"{prefix}_moderator", moderator=True),
    }
    question = question_make(
        author=people["asker"],
        title="Loss stays flat after the first epoch",
        body="My loss is $2.30$ every epoch.\n\n```python\nopt.step()\n```\n\nWhat is wrong?",
        tags=["pytorch", "sgd"],
    )
    other = question_make(
        author=people["member"],
        title="Gradients vanish in my sigmoid network",
        body="The first layer's gradient norm is about 1e-9.",
        tags=["sgd"],
    )
    accepted = answer_make(author=people["answerer"], question=question)
    second = answer_make(
        author=people["member"], question=question, body="Check the **learning rate** too."
    )
    hidden = answer_make(
        author=people["answerer"], question=question, body="A hidden answer with a link."
    )
    forum_services.comment_create(author=people["member"], target=question, body="Which optimizer?")
    forum_services.comment_create(
        author=people["asker"], target=accepted, body="That was it, thanks!"
    )
    forum_services.vote_cast(user=people["member"], target=accepted, value=1)
    forum_services.vote_cast(user=people["answerer"], target=question, value=1)
    forum_services.answer_accept(user=people["asker"], answer=accepted)
    forum_services.post_hide(moderator=people["moderator"], target=hidden)
    return {"people": people, "question": question, "other": other, "second": second}
