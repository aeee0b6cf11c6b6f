"""Tables in posts (the Gradient Doctor's verdict table, people's own Markdown tables) keep
their words whole and never widen the page: a table too wide for the column scrolls in its own
box."""

import pytest
from playwright.sync_api import expect

from hub.forum.services import question_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLE = "\n".join(
    [
        "| finding | fix | verdict | before → after |",
        "| --- | --- | --- | --- |",
        "| vanishing_gradients | GELU with Kaiming init | resolves | "
        + "first/last layer gradient norm 1.5e-07 → 0.703; loss 0.712→0.702 without " * 2
        + "|",
        "| exploding_gradients | clipping at 1.0 | partly helps | norm 3e4 → 1.0 |",
    ]
)

WORDS_KEPT_WHOLE = """() => [...document.querySelectorAll('#question .prose td, #question .prose th')]
  .filter(cell => /^[\\w.]+$/.test(cell.textContent.trim()))
  .filter(cell => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    return range.getClientRects().length > 1;  // a one-word cell drawn on several lines
  })
  .map(cell => cell.textContent.trim())"""


@pytest.mark.parametrize("width", [1280, 390])
def test_a_table_in_a_post_keeps_its_words_whole_and_the_page_its_width(page, make_user, width):
    question = question_create(
        author=make_user(reputation=50),
        title="Which fix did the replay verify?",
        body=f"The verdicts I got:\n\n{TABLE}\n",
        tags=[],
    )
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(question.get_absolute_url())
    expect(page.locator("#question .prose table")).to_contain_text("vanishing_gradients")

    assert page.evaluate(WORDS_KEPT_WHOLE) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
