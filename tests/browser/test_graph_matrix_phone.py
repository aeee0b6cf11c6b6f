"""The Graph Matrix on a phone (390 px wide): every label at least 11 px, the page not widened."""

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The smallest rendered size of each kind of text in the matrix. Edge and value labels only show
# once the lesson is complete, so one of each is added to measure what its class renders at.
SMALLEST_TEXT_PX = """() => {
  const svg = document.querySelector(".graph-matrix");
  for (const cls of ["gm-edge-value", "gm-edge-grad", "gm-node-value"]) {
    const text = document.createElementNS("http://www.w3.org/2000/svg", "text");
    text.setAttribute("class", cls);
    text.textContent = "0.1295";
    svg.appendChild(text);
  }
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const sizes = {};
  for (const text of svg.querySelectorAll("text")) {
    const px = parseFloat(getComputedStyle(text).fontSize) * scale;
    const cls = text.getAttribute("class");
    sizes[cls] = Math.min(sizes[cls] ?? Infinity, px);
  }
  return sizes;
}"""


def test_graph_matrix_labels_are_at_least_11px_on_a_phone(page, screenshot):
    call_command("load_learning_content", verbosity=0)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/learn/backprop/1/")
    matrix = page.locator("#graph-matrix")
    matrix.scroll_into_view_if_needed()
    matrix.screenshot(path=str(screenshot("lesson-phone").with_name("graph-matrix-phone.png")))
    sizes = page.evaluate(SMALLEST_TEXT_PX)
    assert set(sizes) >= {"gm-label", "gm-edge-value", "gm-edge-grad", "gm-node-value"}
    assert all(px >= 11 for px in sizes.values()), sizes
    # the matrix scrolls inside its own box: the page is not wider than the phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.js_errors == []
