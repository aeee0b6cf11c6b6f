"""The learning pages sit in the site's content column, as the forum's pages do: the same left
and right edges as the question list, on a desktop and on a phone."""

import pytest
from django.core.management import call_command

from tests.browser_fixtures import SCREENSHOT_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LEARN_PAGES = [
    "/learn/",
    "/learn/backprop/1/",
    "/learn/backprop/8/",
    "/articles/backpropagation/",
    "/faq/",
]
VIEWPORTS = [{"width": 1280, "height": 900}, {"width": 390, "height": 844}]

# The horizontal edges of what <main> holds: the union of its children's boxes.
CONTENT_EDGES = """() => {
  const boxes = [...document.querySelector('main#main').children].map(el => el.getBoundingClientRect());
  return [Math.round(Math.min(...boxes.map(b => b.left))), Math.round(Math.max(...boxes.map(b => b.right)))];
}"""


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v['width']}px")
def test_learning_pages_use_the_same_content_column_as_the_forum(browser, live_server, viewport):
    call_command("load_learning_content", verbosity=0)
    context = browser.new_context(base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    page.goto("/questions/")
    forum_edges = page.evaluate(CONTENT_EDGES)
    assert forum_edges[1] - forum_edges[0] > viewport["width"] / 2  # a real column was measured
    placed = {}
    for path in LEARN_PAGES:
        page.goto(path)
        placed[path] = page.evaluate(CONTENT_EDGES)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= viewport["width"], f"{path} scrolls sideways"
    assert placed == dict.fromkeys(LEARN_PAGES, forum_edges)
    # the lesson's two columns share the column: the Graph Matrix ends at its right edge
    page.goto("/learn/backprop/1/")
    side = page.locator(".lesson-side").bounding_box()
    assert round(side["x"] + side["width"]) <= forum_edges[1]
    page.screenshot(
        path=str(SCREENSHOT_DIR / f"learn-column-{viewport['width']}.png"), full_page=True
    )
    context.close()
