"""Gradient traces in a real browser: ask with a trace and watch the Gradient Doctor answer live;
diagnose a trace privately by dragging it onto the page.

A slow worker (2 s inside the diagnosis, tests/hub/traces/pipeline_worker.py) makes the
"Replaying" state last long enough to see. Screenshots: screenshots/trace-*.png.
"""

import base64
import re

import pytest
from playwright.sync_api import expect

from hub.traces import queue
from hub.traces.models import Trace
from tests.hub.traces.pipeline_fixtures import vanishing_trace_bytes
from tests.hub.traces.pipeline_worker import DelayedWorker

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough passphrase 42"
STATE_TIMEOUT_MS = 60_000  # a cold worker on a busy CI machine


@pytest.fixture
def slow_worker(tmp_path, monkeypatch):
    worker = DelayedWorker(name="browser", delay_seconds=2, log_path=tmp_path / "worker.log")
    worker.start()
    monkeypatch.setattr(queue, "diagnose_trace_enqueue", worker.enqueue_after_commit)
    yield worker
    worker.stop()


def sign_up(page, username: str) -> None:
    page.goto("/accounts/signup/")
    page.fill("input[name=username]", username)
    page.fill("input[name=email]", f"{username}@example.com")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".nav-user")).to_contain_text(username)


LINES_DRAWN = """el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return range.getClientRects().length;
}"""


def test_ask_with_a_trace_and_watch_the_diagnosis_arrive(page, screenshot, slow_worker, tmp_path):
    trace_path = tmp_path / "deep_sigmoid.trace"
    trace_path.write_bytes(vanishing_trace_bytes())
    sign_up(page, "trace-asker")

    page.goto("/questions/ask/")
    page.fill("input[name=title]", "Why does the first layer of my deep sigmoid MLP not learn?")
    page.fill(
        "textarea[name=body]",
        "The loss goes down a little and then stays flat. I attached a gradient trace.",
    )
    page.set_input_files("input[name=trace]", str(trace_path))
    page.get_by_role("button", name="Post your question").click()
    expect(page).to_have_url(re.compile(r"/questions/\d+/"))
    page.evaluate("window.__noReload = true")  # gone if the page reloads

    card = page.locator(".trace-card").first
    state = card.locator("[data-trace-state]")
    expect(state).to_have_text(re.compile("Queued|Replaying"))
    expect(state).to_have_text("Replaying", timeout=STATE_TIMEOUT_MS)
    screenshot("trace-01-replaying")

    expect(state).to_have_text("Diagnosed", timeout=STATE_TIMEOUT_MS)
    expect(card).to_contain_text("Vanishing gradients")
    bot_post = page.locator(".post", has_text="Gradient Doctor · automated diagnosis")
    expect(bot_post).to_be_visible(timeout=10_000)
    screenshot("trace-02a-diagnosed-plots-pending")
    # The plots are drawn by a follow-up task; the answer is refreshed in place when they land.
    expect(bot_post.locator("img").first).to_be_visible(timeout=STATE_TIMEOUT_MS)
    expect(card).not_to_contain_text("Drawing the plots")
    assert page.evaluate("window.__noReload") is True
    screenshot("trace-02-diagnosed-in-thread")
    # On a phone the state badge stays one word (it broke inside the card: "DIAGNOSE / D").
    page.set_viewport_size({"width": 390, "height": 844})
    assert state.evaluate(LINES_DRAWN) == 1
    page.set_viewport_size({"width": 1280, "height": 900})

    # The full diagnosis with its plots, served as SVG images.
    card.get_by_role("link", name="Read the diagnosis").click()
    expect(page.locator(".trace-report")).to_contain_text("Vanishing gradients")
    images = page.locator(".trace-report img")
    expect(images.first).to_be_visible()
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        expect(image).to_have_attribute("src", re.compile(r"^/traces/\d+/plots/[\w-]+\.svg$"))
        assert page.evaluate("img => img.complete && img.naturalWidth > 0", image.element_handle())
    screenshot("trace-03-report-with-plots")
    assert page.js_errors == []


def test_private_trace_dropped_on_the_page_is_diagnosed_live(page, screenshot, slow_worker):
    sign_up(page, "trace-private")
    page.goto("/traces/new/")
    page.evaluate("window.__noReload = true")
    data = base64.b64encode(vanishing_trace_bytes()).decode()
    # A real drop event with a File in its DataTransfer, as a person dragging a file does.
    page.evaluate(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "run.trace", {type: "application/octet-stream"}));
            const zone = document.querySelector("[data-trace-drop]");
            zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
        }""",
        data,
    )
    state = page.locator(".trace-card [data-trace-state]")
    expect(state).to_have_text(re.compile("Queued|Replaying"))
    screenshot("trace-04-private-uploaded")
    expect(page.get_by_role("link", name="Read the diagnosis")).to_be_visible(
        timeout=STATE_TIMEOUT_MS
    )
    trace = Trace.objects.get(owner__username="trace-private")
    assert trace.is_private and trace.state == Trace.State.DIAGNOSED

    page.goto(f"/traces/{trace.pk}/")
    expect(page.locator(".trace-report")).to_contain_text("Vanishing gradients")
    expect(page.get_by_role("link", name="Ask the community")).to_have_attribute(
        "href", f"/questions/ask/?trace={trace.pk}"
    )
    screenshot("trace-05-private-result")
    assert page.evaluate("window.__noReload") is None  # we navigated on purpose
    assert page.js_errors == []


def test_a_bad_drop_shows_the_reason_without_leaving_the_page(page, slow_worker, screenshot):
    sign_up(page, "trace-bad")
    page.goto("/traces/new/")
    page.set_input_files(
        "input[data-trace-file]",
        files=[
            {
                "name": "model.pt",
                "mimeType": "application/octet-stream",
                "buffer": b"\x80\x04K\x01.",
            }
        ],
    )
    error = page.locator("[data-trace-error]")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not a trace file")
    screenshot("trace-06-refused")
    assert not Trace.objects.filter(owner__username="trace-bad").exists()
