"""Copy buttons on code blocks, in a real browser: clicking one puts the code on the clipboard."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from hub.glossary.models import Term

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_code_block_has_a_labelled_copy_button_that_copies_its_code(page, screenshot):
    call_command("load_learning_content", verbosity=0)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/glossary/dead-relu/")
    snippet = page.locator(".code-card pre.codehilite")
    button = page.get_by_role("button", name="Copy code")
    assert button.count() == 1  # the snippet only: its printed output is not code to copy
    button.click()
    expect(button).to_have_text("Copied")  # the clipboard write is asynchronous: wait for it
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == Term.objects.get(slug="dead-relu").snippet
    assert copied.strip() == snippet.inner_text().strip()
    screenshot("glossary-copy-button")
    assert page.js_errors == []


def test_without_javascript_code_blocks_show_no_copy_button(page_without_js):
    call_command("load_learning_content", verbosity=0)
    page_without_js.goto("/glossary/dead-relu/")
    assert page_without_js.locator(".code-card pre.codehilite").is_visible()
    assert page_without_js.get_by_role("button", name="Copy code").count() == 0
