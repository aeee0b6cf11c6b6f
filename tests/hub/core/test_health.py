import pytest

from hub.core import health


@pytest.mark.django_db
def test_healthz_answers_ok_without_touching_services(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.mark.django_db
def test_readyz_is_ready_when_database_broker_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_readyz_names_the_part_that_is_down(client, settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("redis unreachable")
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_broker(client, monkeypatch):
    monkeypatch.setattr(health, "broker_check", lambda: "broker unreachable: OperationalError")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_home_page_opens_the_three_doors(client, db):
    html = client.get("/").content.decode()
    assert "Backpropagation Explained" in html
    for href in ('href="/learn/backprop/"', 'href="/glossary/"', 'href="/questions/"'):
        assert href in html
    assert "Got vanishing gradients? Share your PyTorch trace" in html
