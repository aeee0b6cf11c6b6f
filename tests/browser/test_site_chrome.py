"""The site's chrome on a phone: the navigation folds behind a menu button, without JavaScript."""

import pytest

from tests.browser_fixtures import SCREENSHOT_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_on_a_phone_the_nav_is_folded_until_the_menu_button_opens_it(
    browser, live_server, javascript
):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, java_script_enabled=javascript
    )
    page = context.new_page()
    try:
        page.goto("/questions/")
        header = page.locator(".site-header")
        assert header.bounding_box()["height"] < 120
        questions = header.get_by_role("link", name="Questions", exact=True)
        assert not questions.is_visible()
        page.screenshot(path=SCREENSHOT_DIR / "chrome-phone-nav-closed.png")
        header.get_by_text("Menu").click()
        assert questions.is_visible()
        assert header.get_by_role("link", name="Sign up").is_visible()
        assert header.get_by_role("searchbox").is_visible()
        page.screenshot(path=SCREENSHOT_DIR / "chrome-phone-nav-open.png")
        questions.click()
        page.wait_for_url("**/questions/")
    finally:
        context.close()


def test_on_a_desktop_the_nav_shows_its_links_and_no_menu_button(page):
    page.goto("/questions/")
    header = page.locator(".site-header")
    assert header.get_by_role("link", name="Questions", exact=True).is_visible()
    assert not header.get_by_text("Menu").is_visible()


def test_on_a_phone_the_tokens_table_fits_and_its_revoke_button_is_in_view(
    browser, live_server, make_user
):
    from django.test import Client
    from django.utils import timezone

    from hub.api.services import token_create

    owner = make_user()
    token, _ = token_create(
        user=owner, name="CI on my laptop", scopes=["read", "write", "traces"], expires_days=90
    )
    type(token).objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    client = Client()
    client.force_login(owner)
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    try:
        page.goto("/settings/")  # where a newcomer looks for it
        assert page.url.endswith("/settings/tokens/")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        revoke = page.get_by_role("button", name="Revoke")
        revoke.scroll_into_view_if_needed()
        box = revoke.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] < 40  # on one line, not squeezed to a letter per line
        for cell in ("CI on my laptop", "read"):
            assert page.get_by_text(cell, exact=True).first.bounding_box()["height"] < 40
        page.screenshot(path=SCREENSHOT_DIR / "chrome-phone-tokens.png", full_page=True)
    finally:
        context.close()
