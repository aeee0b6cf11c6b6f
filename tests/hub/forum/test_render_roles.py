"""Every forum page renders as it did before the shared page cache, for every role.

The golden files in golden/ were rendered by the code before the change (the commit that adds
this test); the test renders the same pages again and compares them byte for byte, once the
values that change from run to run (CSRF tokens, timestamps, view and online counts) are
normalised. A role's page rendered for them alone (no shared cache) must not change;
tests/browser/test_member_layer.py checks that the shared page with the member's layer on top
makes the same document.
"""

import difflib
import os
import re
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

from hub.forum.page_cache import question_version_key
from hub.forum.services import limits
from tests.factories import thread_with_every_role

GOLDEN = Path(__file__).parent / "golden"
WRITE = os.environ.get("GOLDEN_WRITE") == "1"  # re-capture (only on purpose)
ROLES = ("anonymous", "member", "asker", "answerer", "moderator")
FIRST_ID = 900_000  # ids from here on, so the pages carry the same numbers on every run

_NORMALISE = [
    (
        re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"'),
        'name="csrfmiddlewaretoken" value="T"',
    ),
    (re.compile(r'(<time datetime=)"[^"]+"( title="[^"]+")?>[^<]*</time>'), r'\1"D"\2>T</time>'),
    (re.compile(r'datetime="[^"]+"'), 'datetime="D"'),
    (re.compile(r'title="\d{4}-\d\d-\d\d \d\d:\d\d UTC"'), 'title="D UTC"'),
    (re.compile(r"Viewed [\d,]+ times?"), "Viewed N times"),
    (re.compile(r"[\d,]+ views?\b"), "N views"),
    (re.compile(r"\d+ online"), "N online"),
    (re.compile(r", [\d,]+ views\""), ', N views"'),
    # Blank lines between tags: the members' page used to have fewer than the others'.
    (re.compile(r"\n\s*\n"), "\n"),
]


def normalise(html: str) -> str:
    for pattern, replacement in _NORMALISE:
        html = pattern.sub(replacement, html)
    return html


@pytest.fixture
def forum_scene(db, monkeypatch):
    """A thread with a vote, an accepted answer, a hidden answer and comments, made with ids
    that are the same on every run."""
    monkeypatch.setattr(limits, "user_rate_limit", lambda **kwargs: None)
    monkeypatch.setattr(limits, "new_user_question_cap", lambda user: None)
    cache.delete(question_version_key(FIRST_ID + 1))  # an earlier test's page had this id
    with connection.cursor() as cursor:
        for table in ("auth_user", "forum_question", "forum_answer", "forum_comment", "forum_tag"):
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, FIRST_ID])
    return thread_with_every_role("golden")


def pages(scene) -> dict[str, str]:
    question = scene["question"]
    return {
        "question": question.get_absolute_url(),
        "list": "/questions/",
        "list-top": "/questions/?sort=top",
        "tag": "/tags/sgd/",
        # search results (both questions: "or"), and a typo widened by trigrams
        "search": "/search/?q=loss+or+gradients",
        "search-typo": "/search/?q=sigmod",
    }


@pytest.mark.parametrize("role", ROLES)
def test_pages_render_as_before_for_each_role(client, forum_scene, role):
    if role != "anonymous":
        client.force_login(forum_scene["people"][role])
    for name, path in pages(forum_scene).items():
        response = client.get(path)
        assert response.status_code == 200, (name, role)
        html = normalise(response.content.decode())
        golden = GOLDEN / f"{name}.{role}.html"
        if WRITE:
            golden.write_text(html)
        expected = normalise(golden.read_text())
        diff = "\n".join(
            difflib.unified_diff(expected.splitlines(), html.splitlines(), lineterm="")
        )
        assert html == expected, f"{name} as {role} differs from {golden.name}:\n{diff}"
