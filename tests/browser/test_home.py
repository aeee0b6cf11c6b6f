import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_renders_with_its_doors_and_no_script_errors(page, screenshot):
    page.goto("/")
    assert page.get_by_role("heading", name="Backpropagation Explained").is_visible()
    assert page.get_by_role("link", name="Start the lesson").is_visible()
    assert page.locator("footer").inner_text().count("online") == 1
    screenshot("home")
    assert page.js_errors == []
