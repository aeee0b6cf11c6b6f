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
