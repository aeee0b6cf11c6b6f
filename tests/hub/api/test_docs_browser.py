"""The Swagger UI docs page renders in Chromium under our Content-Security-Policy."""

import pytest

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


def test_a_token_created_in_the_browser_is_shown_once(page, screenshot, live_server):  # noqa: F811
    from django.contrib.auth import get_user_model

    from hub.accounts.services import user_create

    user_create(username="tokenowner", email="tokenowner@example.com", password="correct horse 9")
    context_cookies = _login_cookie(live_server, "tokenowner")
    page.context.add_cookies(context_cookies)
    page.goto("/settings/tokens/")
    page.get_by_label("Name").fill("CI on my laptop")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-token-value").input_value()
    assert secret.startswith("gradhub_")
    screenshot("api-token-created")
    page.goto("/settings/tokens/")
    assert page.locator("#new-token-value").count() == 0
    assert page.get_by_role("cell", name="CI on my laptop").is_visible()
    assert get_user_model().objects.get(username="tokenowner").access_tokens.count() == 1
    assert page.js_errors == []


def _login_cookie(live_server, username: str) -> list[dict]:
    """A session cookie for `username`, made the way Django's test client logs in."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    cookie = client.cookies["sessionid"]
    return [{"name": "sessionid", "value": cookie.value, "url": live_server.url}]
