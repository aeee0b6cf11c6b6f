"""Sign in with a provider in a real browser: GradHub's button, the provider's own login and
consent pages (tests/oidcserver, a separate process), and back, signed in, where one started.
Screenshots: screenshots/social-login-*.png."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.oidcserver import PASSWORD
from tests.oidcserver.fixtures import PROVIDER_NAME

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_person_signs_in_with_the_provider_and_returns_where_they_were(
    page, screenshot, oidc_provider
):
    page.goto("/questions/")
    page.get_by_role("link", name="Log in").click()
    button = page.get_by_role("button", name=f"Continue with {PROVIDER_NAME}")
    expect(button).to_be_visible()
    screenshot("social-login-1-gradhub")
    button.click()

    page.wait_for_url(f"{oidc_provider.url}/accounts/login/**")
    page.get_by_label("Username").fill("browser-user")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot("social-login-2-provider")
    page.get_by_role("button", name="Sign in to the provider").click()
    page.wait_for_url(f"{oidc_provider.url}/o/authorize/**")
    screenshot("social-login-3-consent")
    page.get_by_role("button", name="Authorize").click()

    page.wait_for_url("**/questions/")
    expect(page.locator(".nav-user")).to_contain_text("browser-user")
    expect(page.locator(".nav-user")).not_to_contain_text("Log in")
    screenshot("social-login-4-signed-in")
    user = get_user_model().objects.get(username="browser-user")
    assert user.email == "browser@example.org"
    assert user.socialaccount_set.get().provider == "sso"
