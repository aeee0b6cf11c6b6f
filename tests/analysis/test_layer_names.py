"""Layers are named the way the user wrote them, the same in every finding and in the report:
``model.0 (Linear)`` for an nn.Sequential, never a bare index."""

import re

import numpy as np

from analysis import diagnose
from analysis.report import render_markdown, render_text
from tests.analysis.helpers import col, find, replace_steps, synthetic_trace

BARE_INDEX = re.compile(r"(?<![\w.])\d+ \(\w+\)|`\d+`|Where: \d")


def _broken_first_layer():
    t = synthetic_trace(num_steps=20)
    fresh, grad = t.steps.fresh_grad_norm.copy(), t.steps.grad_norm.copy()
    for name in ("0.weight", "0.bias"):
        fresh[:, col(t, name)] = np.nan
        grad[:, col(t, name)] = np.nan
    return replace_steps(t, fresh_grad_norm=fresh, grad_norm=grad)


def test_a_sequential_layer_is_named_as_an_attribute_of_the_model_in_the_summary():
    f = find(_broken_first_layer(), "no_gradient")
    assert "model.0 (Linear)" in f.summary
    assert f.evidence.modules == ("0",)  # the data keeps the recorded path


def test_text_and_markdown_reports_name_the_layer_as_the_summary_does():
    diagnosis = diagnose(_broken_first_layer())
    assert diagnosis.facts["layer_names"] == {"0": "model.0 (Linear)"}
    text, markdown = render_text(diagnosis), render_markdown(diagnosis)
    assert "Where: model.0 (Linear)" in text
    assert "`model.0 (Linear)`" in markdown
    assert not BARE_INDEX.search(text) and not BARE_INDEX.search(markdown)
