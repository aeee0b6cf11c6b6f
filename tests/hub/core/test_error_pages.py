"""Production error pages (DEBUG off): the site's own 404, 403 and 500 templates."""

import pytest
from django.urls import include, path


def _boom(request):
    raise RuntimeError("a bug in a view")


# A test-only URLconf: the site's routes plus one view that raises.
urlpatterns = [path("test-only/boom/", _boom), path("", include("hub.urls"))]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture(autouse=True)
def production_errors(settings):
    settings.DEBUG = False


def _site_page(response, status: int) -> str:
    """The page's HTML, checked to be the site's styled layout with the given status."""
    html = response.content.decode()
    assert response.status_code == status
    assert "css/theme.css" in html and 'class="site-header"' in html
    return html


def test_a_missing_page_renders_the_sites_404_page(client):
    assert "Page not found" in _site_page(client.get("/no/such/page/"), 404)


def test_a_member_opening_moderation_gets_the_sites_styled_403_page(client, make_user):
    client.force_login(make_user())
    html = _site_page(client.get("/moderation/"), 403)
    assert "The moderation queue is for moderators." in html


def test_an_exception_renders_the_self_contained_500_page(client):
    client.raise_request_exception = False
    html = _site_page(client.get("/test-only/boom/"), 500)
    assert 'href="/static/css/theme.css"' in html
    assert "Something went wrong" in html
    assert "a bug in a view" not in html  # no internals shown
