"""The lesson in a real browser: answer all eight steps with the keyboard and the mouse, watch
the Graph Matrix unlock, and screenshot it complete (screenshots/lesson-*.png)."""

import pytest
from django.core.management import call_command

from hub.learn import selectors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _answer_for(step) -> str:
    if step.kind == "choice":
        return step.correct
    lesson = selectors.lesson_get()
    return f"{selectors.step_expected(lesson=lesson, step=step):.3f}"


def test_learner_completes_the_lesson_and_the_graph_matrix_shows_values_and_gradients(
    page, screenshot
):
    call_command("load_learning_content", verbosity=0)
    lesson = selectors.lesson_get()
    steps = selectors.lesson_steps(lesson=lesson)
    assert lesson.computed is not None  # the loader computed the Graph Matrix with torch

    page.goto("/learn/backprop/")
    assert page.url.endswith("/learn/backprop/1/")
    assert page.locator(".gm-node.is-unlocked").count() == 0
    screenshot("lesson-step-1")

    for step in steps:
        assert page.get_by_role("heading", level=1).inner_text() == step.title
        assert page.get_by_text(f"main.py {step.number} / {len(steps)}").is_visible()
        answer = _answer_for(step)
        if step.kind == "choice":
            # A wrong answer first: feedback, nothing unlocked.
            wrong = next(c["key"] for c in step.choices if c["key"] != step.correct)
            page.locator(f'input[name="answer"][value="{wrong}"]').check()
            page.get_by_role("button", name="Check answer").click()
            page.locator("#feedback.bad").wait_for()
            page.locator(f'input[name="answer"][value="{answer}"]').check()
            page.get_by_role("button", name="Check answer").click()
        else:
            # Keyboard only: type the number and press Enter.
            field = page.get_by_label("Your answer")
            field.fill("zero point two")
            field.press("Enter")
            page.locator("#feedback.bad").get_by_text("is not a number").wait_for()
            if step.number == 3:
                screenshot("lesson-step-3-malformed-answer")
            field.fill(answer)
            field.press("Enter")
        page.locator("#feedback.ok").wait_for()
        for node in step.unlocks:
            page.locator(f'.gm-node.is-unlocked[data-node="{node}"]').wait_for()
        if step.number < len(steps):
            next_link = page.locator("#next-link")
            next_link.wait_for(state="visible")
            assert next_link.evaluate("el => el === document.activeElement")
            page.keyboard.press("Enter")
            page.wait_for_url(f"**/learn/backprop/{step.number + 1}/")
        else:
            page.wait_for_load_state("load")
            page.locator("#complete-note").wait_for()

    matrix = page.locator(".graph-matrix.is-complete")
    assert page.locator(".gm-node.is-locked").count() == 0
    # Every edge carries a forward value and a gradient, e.g. ∂L/∂w₂ = 0.2287 on w2 → z2.
    assert page.locator(".gm-edge-grad").count() == page.locator(".gm-edge").count() == 10
    assert "0.2287" in page.locator('.gm-edge[data-source="w2"] .gm-edge-grad').text_content()
    matrix.screenshot(path=str(screenshot("lesson-complete").with_name("graph-matrix.png")))
    page.goto("/learn/backprop/")
    assert page.url.endswith("/learn/backprop/8/")  # resumes at the end
    assert page.js_errors == []


def test_glossary_term_page_and_article_render_with_math_and_auto_links(page, screenshot):
    call_command("load_learning_content", verbosity=0)
    page.goto("/glossary/")
    page.get_by_label("Search the glossary").fill("dying relu")
    page.get_by_label("Search the glossary").press("Enter")
    page.get_by_role("link", name="Dead ReLU").click()
    assert page.get_by_role("heading", name="Dead ReLU", level=1).is_visible()
    assert page.get_by_role("heading", name="dead_relu.py").is_visible()
    screenshot("glossary-dead-relu")

    page.goto("/articles/backpropagation/")
    page.locator(".katex").first.wait_for()  # the vendored KaTeX rendered the math
    link = page.locator("a.glossary-link", has_text="chain rule").first
    assert link.get_attribute("href") == "/glossary/chain-rule/"
    screenshot("article-backpropagation")
    page.goto("/glossary/")
    screenshot("glossary-index")
    page.goto("/faq/")
    page.get_by_role("link", name="What is the vanishing gradient problem?").click()
    assert page.url.endswith("#vanishing-gradient-problem")
    screenshot("faq")
    assert page.js_errors == []


def test_the_lesson_works_without_javascript(page_without_js):
    call_command("load_learning_content", verbosity=0)
    page = page_without_js
    page.goto("/learn/backprop/")
    page.get_by_label("The network's prediction z₂ and the target y").check()
    page.get_by_role("button", name="Check answer").click()  # a plain form POST
    page.get_by_text("Answered correctly").wait_for()  # after the redirect back
    page.get_by_role("link", name="Next step →").click()
    assert page.get_by_role("heading", level=1).inner_text() == "The credit-assignment problem"
    assert page.locator('.gm-node.is-unlocked[data-node="L"]').count() == 1
