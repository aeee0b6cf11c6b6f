"""What a newcomer walking the site in a real browser tripped on: the daily question cap, long
words that widen the page, and a home page without the forum.

Screenshots at phone and desktop width land in /tmp/ux/ for people to look at.
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from hub.forum.services import NEW_USER_QUESTIONS_PER_DAY, question_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/ux")
WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}


def log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "correct horse 9")  # tests/factories.py
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".nav-user")).to_contain_text(user.username)


def shoot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_refused_newcomer_finds_the_draft_still_in_the_form(page, make_user):
    newcomer = make_user(reputation=1)
    for n in range(NEW_USER_QUESTIONS_PER_DAY - 1):
        question_create(
            author=newcomer, title=f"Earlier question number {n}", body="x" * 40, tags=[]
        )
    log_in(page, newcomer)

    page.goto("/questions/ask/")
    expect(page.locator("#ask-allowance")).to_contain_text("1 left today")
    question_create(author=newcomer, title="Asked from the command line", body="x" * 40, tags=[])
    page.fill("input[name=title]", "Why is my draft gone after I am refused?")
    page.fill("textarea[name=body]", "A long explanation I do not want to type twice.")
    page.fill("input[name=tags]", "autograd inplace")
    with page.expect_response("**/questions/ask/") as refused:
        page.get_by_role("button", name="Post your question").click()

    assert refused.value.status == 429
    expect(page.locator("input[name=title]")).to_have_value(
        "Why is my draft gone after I am refused?"
    )
    expect(page.locator("textarea[name=body]")).to_have_value(
        "A long explanation I do not want to type twice."
    )
    expect(page.locator("input[name=tags]")).to_have_value("autograd inplace")
    expect(page.get_by_role("alert")).to_contain_text("Try again in about 24 hours")
    for name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        shoot(page, f"ask-refused-{name}")
