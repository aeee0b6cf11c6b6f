"""The Swagger UI docs page renders in Chromium under our Content-Security-Policy."""

import pytest

from tests.browser.conftest import browser, page, screenshot  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_offline_under_the_csp(page, screenshot, live_server):  # noqa: F811
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    external: list[str] = []
    page.on(
        "request",
        lambda request: (
            external.append(request.url)
            if not request.url.startswith(live_server.url) and not request.url.startswith("data:")
            else None
        ),
    )
    response = page.goto("/api/v1/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".swagger-ui .info .title").wait_for()
    assert "GradHub API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-summary-path", has_text="/api/v1/questions/").first.wait_for()
    assert page.locator(".opblock-tag", has_text="traces").is_visible()
    screenshot("api-docs")
    assert page.js_errors == []
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors
    assert external == []  # everything came from our own server: works offline
