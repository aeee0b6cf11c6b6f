"""The Gradient Doctor's "Verified fix" section in a real browser: its small before/after plot
(the replay's loss per step, as recorded and with the fix) shows in the thread and on the trace
page. Screenshots: screenshots/verified-fix-*.png."""

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from tests.hub.traces.test_replay import _canned_replay, _replayed_question

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMAGE_LOADED = "img => img.complete && img.naturalWidth > 0"


@override_settings(TRACE_REPLAY_STEPS=30)
def test_the_verified_fix_plot_shows_in_the_thread_and_on_the_trace_page(
    page, screenshot, monkeypatch
):
    # The sandbox draws the plot for real; the replay's training is canned (tested elsewhere).
    monkeypatch.setattr("analysis.replay.verify.verify", _canned_replay)
    _, question, trace, _ = _replayed_question(monkeypatch)

    page.goto(question.get_absolute_url())
    bot_post = page.locator(".post", has_text="Gradient Doctor · automated diagnosis")
    expect(bot_post).to_contain_text("verified: ReLU with Kaiming init")
    image = bot_post.locator('img[src$="/plots/verified_fix.svg"]')
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()
    assert page.evaluate(IMAGE_LOADED, image.element_handle())
    # It sits in the "Verified fix" section: after its heading, fits the post's column.
    assert page.evaluate(
        """img => {
            const heading = [...document.querySelectorAll('.post h3')]
                .find(h => h.textContent.includes('Verified fix'));
            return !!heading && !!(heading.compareDocumentPosition(img)
                & Node.DOCUMENT_POSITION_FOLLOWING);
        }""",
        image.element_handle(),
    )
    box, column = image.bounding_box(), bot_post.bounding_box()
    assert box["width"] > 200 and box["x"] + box["width"] <= column["x"] + column["width"] + 1
    screenshot("verified-fix-01-thread")
    page.set_viewport_size({"width": 390, "height": 844})
    image.scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("verified-fix-02-thread-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(trace.get_absolute_url())
    image = page.locator('.trace-report img[src$="/plots/verified_fix.svg"]')
    image.scroll_into_view_if_needed()
    expect(image).to_be_visible()
    assert page.evaluate(IMAGE_LOADED, image.element_handle())
    screenshot("verified-fix-03-trace-page")
    assert page.js_errors == []
