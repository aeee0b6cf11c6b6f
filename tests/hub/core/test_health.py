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


def test_the_lesson_landing_page_opens_the_three_doors_at_learn(client, db):
    html = client.get("/learn/").content.decode()
    assert "Backpropagation Explained" in html
    for href in ('href="/learn/backprop/"', 'href="/glossary/"', 'href="/questions/"'):
        assert href in html
    assert "Got vanishing gradients? Share your PyTorch trace" in html


def test_the_home_page_still_leads_to_the_lesson_the_glossary_and_the_article(client, db):
    html = client.get("/").content.decode()
    for href in ('href="/learn/"', 'href="/glossary/"', 'href="/articles/backpropagation/"'):
        assert href in html


def test_header_links_the_moderation_queue_for_moderators_only(client, django_user_model):
    member = django_user_model.objects.create_user("member", password="pw-member-123")
    client.force_login(member)
    assert 'href="/moderation/"' not in client.get("/").content.decode()

    staff = django_user_model.objects.create_user("staffer", password="pw-staff-123", is_staff=True)
    client.force_login(staff)
    assert 'href="/moderation/"' in client.get("/").content.decode()


@pytest.mark.django_db
def test_favicon_ico_redirects_permanently_to_the_sites_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("img/favicon.svg")
    assert 'rel="icon" href="/static/img/favicon.svg"' in client.get("/questions/").content.decode()
