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


LONG_WORD = "one_of_the_variables_needed_for_gradient_computation_has_been_modified"
LONG_CODE = "x = " + " + ".join(f"torch.autograd.grad(outputs_{n}, inputs_{n})" for n in range(12))


@pytest.fixture
def long_words(make_user):
    """A question whose title, tag, code, prose and author name are each one long word."""
    author = make_user("a_very_long_username_of_30_ch", reputation=50)
    question = question_create(
        author=author,
        title=f"RuntimeError: {LONG_WORD} by an inplace operation",
        body=f"I get `{LONG_WORD}` when I call backward:\n\n```python\n{LONG_CODE}\n```\n\n{LONG_WORD * 2}",
        tags=["autograd", "inplace-operation-modified-variable-gradient"[:35]],
    )
    # A title that is one word too long for any screen.
    question_create(author=author, title=f"{LONG_WORD}_in_{LONG_WORD}", body=LONG_WORD, tags=[])
    return question


def _pages(question) -> dict[str, str]:
    tag = question.tags.order_by("-name").first()
    return {
        "home": "/",
        "list": "/questions/",
        "question": question.get_absolute_url(),
        "search": "/search/?q=variables",
        "profile": f"/users/{question.author.username}/",
        "tag": f"/tags/{tag.slug}/",
    }


@pytest.mark.parametrize("size", WIDTHS)
def test_long_words_never_make_a_page_scroll_sideways(page, long_words, size):
    width, height = WIDTHS[size]
    page.set_viewport_size({"width": width, "height": height})
    too_wide = {}
    for name, url in _pages(long_words).items():
        page.goto(url)
        expect(page.locator("body")).to_contain_text("one_of_the_variables")
        shoot(page, f"long-words-{name}-{size}")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > page.evaluate("window.innerWidth"):
            too_wide[name] = scroll_width
    assert too_wide == {}, f"pages wider than {width} px: {too_wide}"


def test_a_question_only_the_bot_diagnosed_is_listed_as_diagnosed_and_unanswered(page, make_user):
    from hub.accounts.services import bot_user_get
    from hub.forum.services import answer_create

    question = question_create(
        author=make_user(reputation=50),
        title="Loss is NaN after the first step with AMP",
        body="My loss turns NaN after one optimizer step; the trace is attached.",
        tags=["amp"],
    )
    answer_create(author=bot_user_get(), question=question, body="**NaN loss**", automated=True)
    page.goto("/questions/?sort=unanswered")
    row = page.locator(".q-summary", has_text=question.title)
    expect(row.locator(".diagnosed-badge")).to_be_visible()
    expect(row.locator(".answers")).to_have_text("0 answers")
    for name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        shoot(page, f"unanswered-diagnosed-{name}")
