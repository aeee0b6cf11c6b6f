"""Who may do what through the API: the same answers as the web, decided by the services.

Each row: an actor (anonymous, a user, the owner, a moderator, or a token that is expired,
revoked or lacks the scope), a request, and the expected status.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from hub.accounts.selectors import MODERATORS_GROUP
from hub.api.models import AccessToken
from hub.api.services import token_create, token_revoke

pytestmark = pytest.mark.django_db

EDIT = {
    "title": "An edited title that is long enough",
    "body": "An edited body, long enough to pass.",
}
NEW_QUESTION = {
    "title": "A brand new question title",
    "body": "A body that is long enough to pass.",
}
NEW_TERM = {"slug": "learning-rate-x", "name": "Learning rate X", "definition": "How big a step."}


@pytest.fixture
def world(make_user, make_question):
    from hub.forum.services import answer_create

    owner = make_user()
    other = make_user()
    moderator = make_user()
    moderator.groups.add(Group.objects.get_or_create(name=MODERATORS_GROUP)[0])
    staff = make_user(is_staff=True)
    question = make_question(author=owner)
    answer = answer_create(author=other, question=question, body="Try a smaller learning rate.")
    return {
        "owner": owner,
        "other": other,
        "moderator": moderator,
        "staff": staff,
        "question": question,
        "answer": answer,
    }


def _client(world, actor: str) -> APIClient:
    client = APIClient()
    if actor == "anonymous":
        return client
    if actor.startswith("session:"):
        client.force_login(world[actor.split(":")[1]])
        return client
    who, _, kind = actor.partition(":")
    user = world[who]
    scopes = {"read": ["read"], "write": ["write"], "traces": ["traces"]}.get(
        kind, ["read", "write", "traces"]
    )
    token, raw = token_create(user=user, name="matrix", scopes=scopes)
    if kind == "expired":
        AccessToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    if kind == "revoked":
        token_revoke(user=user, token=token)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


MATRIX = [
    # reads
    ("anonymous", "get", "/api/v1/questions/", None, 200),
    ("other:read", "get", "/api/v1/questions/", None, 200),
    ("other:write", "get", "/api/v1/questions/", None, 403),  # wrong scope for a read
    ("other:expired", "get", "/api/v1/questions/", None, 401),
    ("other:revoked", "get", "/api/v1/questions/", None, 401),
    ("anonymous", "get", "/api/v1/questions/{question}/", None, 200),
    ("anonymous", "get", "/api/v1/users/me/", None, 401),
    ("other:read", "get", "/api/v1/users/me/", None, 200),
    ("anonymous", "get", "/api/v1/notifications/", None, 401),
    ("other:read", "get", "/api/v1/notifications/", None, 200),
    # asking
    ("anonymous", "post", "/api/v1/questions/", NEW_QUESTION, 401),
    ("other:read", "post", "/api/v1/questions/", NEW_QUESTION, 403),
    ("other:traces", "post", "/api/v1/questions/", NEW_QUESTION, 403),
    ("other:write", "post", "/api/v1/questions/", NEW_QUESTION, 201),
    ("session:other", "post", "/api/v1/questions/", NEW_QUESTION, 201),
    ("other:expired", "post", "/api/v1/questions/", NEW_QUESTION, 401),
    # editing: the author or a moderator
    ("owner", "patch", "/api/v1/questions/{question}/", EDIT, 200),
    ("moderator", "patch", "/api/v1/questions/{question}/", EDIT, 200),
    ("other", "patch", "/api/v1/questions/{question}/", EDIT, 403),
    ("owner:read", "patch", "/api/v1/questions/{question}/", EDIT, 403),
    ("anonymous", "patch", "/api/v1/questions/{question}/", EDIT, 401),
    # accepting: the asker only
    ("owner", "post", "/api/v1/answers/{answer}/accept/", None, 200),
    ("other", "post", "/api/v1/answers/{answer}/accept/", None, 403),
    ("moderator", "post", "/api/v1/answers/{answer}/accept/", None, 403),
    ("anonymous", "post", "/api/v1/answers/{answer}/accept/", None, 401),
    # voting: not on your own post
    ("owner", "post", "/api/v1/questions/{question}/vote/", {"value": 1}, 403),
    ("other", "post", "/api/v1/questions/{question}/vote/", {"value": 1}, 200),
    ("other:read", "post", "/api/v1/questions/{question}/vote/", {"value": 1}, 403),
    # glossary: staff writes
    ("staff", "post", "/api/v1/glossary/", NEW_TERM, 201),
    ("moderator", "post", "/api/v1/glossary/", NEW_TERM, 403),
    ("other", "post", "/api/v1/glossary/", NEW_TERM, 403),
    ("anonymous", "post", "/api/v1/glossary/", NEW_TERM, 401),
    # webhooks are private to their owner
    ("anonymous", "get", "/api/v1/webhooks/", None, 401),
    ("other:read", "get", "/api/v1/webhooks/", None, 200),
]


@pytest.mark.parametrize("actor, method, path, data, expected", MATRIX)
def test_permissions_matrix(world, actor, method, path, data, expected):
    client = _client(world, actor)
    url = path.format(question=world["question"].pk, answer=world["answer"].pk)
    response = getattr(client, method)(url, data, format="json")
    assert response.status_code == expected, response.content
    if expected >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]


def test_a_scope_refusal_names_the_missing_scope(world):
    response = _client(world, "other:read").post("/api/v1/questions/", NEW_QUESTION, format="json")
    assert response.status_code == 403
    assert "write scope" in response.json()["error"]["message"]


def test_someone_elses_webhook_is_not_found(world):
    from hub.api.services import webhook_endpoint_create

    endpoint, _ = webhook_endpoint_create(
        user=world["owner"], url="https://example.com/hook", events=["diagnosis.ready"]
    )
    assert _client(world, "other").get(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 404
    assert _client(world, "owner").get(f"/api/v1/webhooks/{endpoint.pk}/").status_code == 200
