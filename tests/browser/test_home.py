import pytest

from hub.forum.services import limits_bypassed, question_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The sizes a newcomer arrives with: a laptop and a phone.
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def test_the_lesson_landing_page_renders_with_its_doors_and_no_script_errors(page, screenshot):
    page.goto("/learn/")
    assert page.get_by_role("heading", name="Backpropagation Explained").is_visible()
    assert page.get_by_role("link", name="Start the lesson").is_visible()
    assert page.locator("footer").inner_text().count("online") == 1
    screenshot("learn-landing")
    assert page.js_errors == []


@pytest.mark.parametrize("size", SIZES)
def test_ask_and_diagnose_are_above_the_fold_on_the_home_page(page, make_user, size):
    author = make_user(reputation=50)
    with limits_bypassed():
        for n in range(12):
            question_create(
                author=author, title=f"Recent question number {n} here", body="x" * 40, tags=[]
            )
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/")
    main = page.locator("main")
    for name, href in (("Ask a question", "/questions/ask/"), ("Diagnose a trace", "/traces/new/")):
        button = main.get_by_role("link", name=name, exact=True)
        assert button.get_attribute("href") == href
        box = button.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, f"{name} below the fold"
    assert main.locator(".q-summary").count() >= 10
    page.screenshot(path=f"/tmp/ux/home-{size}.png", full_page=True)
    page.screenshot(path=f"/tmp/ux/home-{size}-fold.png")
    assert page.js_errors == []
