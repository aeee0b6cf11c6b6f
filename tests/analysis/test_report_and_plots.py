import xml.etree.ElementTree as ET

import numpy as np

from analysis import diagnose
from analysis.plots import all_svgs, gradient_flow_svg, gradient_norms_svg
from analysis.report import render_markdown, render_text
from tests.analysis.helpers import synthetic_trace

SICK = dict(
    num_steps=30, layer_sizes=(8, 16, 16, 16, 2), grad_scale=(1e-7, 1e-4, 1e-1, 1.0), clear="never"
)


def test_markdown_shows_each_finding_with_fix_snippet_and_glossary_links():
    d = diagnose(synthetic_trace(**SICK))
    md = render_markdown(d, glossary_url="/g/{slug}/")
    for f in d.findings:
        assert f"`{f.code}`" in md
        assert f.fix.code.splitlines()[0] in md
    assert "](/g/zero-grad/)" in md
    assert "```python" in md


def test_text_report_of_a_healthy_run_says_so():
    assert "No problems found" in render_text(diagnose(synthetic_trace()))


def test_plots_are_small_valid_svg_with_log_axes():
    t = synthetic_trace(**SICK)
    for svg in (gradient_flow_svg(t), gradient_norms_svg(t)):
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert len(svg) < 120_000
        assert "10^{" in svg or "10^" in svg or "mathdefault" in svg  # log-scale tick labels
    assert set(all_svgs(t)) == {"gradient_flow", "gradient_norms"}


def test_plots_survive_nan_and_inf():
    t = synthetic_trace(num_steps=20)
    from traces.synthetic import replace_steps

    fresh = t.steps.fresh_grad_norm.copy()
    fresh[5:] = np.nan
    fresh[3] = np.inf
    svgs = all_svgs(replace_steps(t, fresh_grad_norm=fresh))
    assert "gradient_norms" in svgs


def test_markdown_names_severity_in_words_not_emoji():
    # emoji render as empty boxes on machines without an emoji font
    d = diagnose(synthetic_trace(**SICK))
    md = render_markdown(d)
    words = {"error": "Error", "warning": "Warning", "info": "Note"}
    for f in d.findings:
        assert f"### {words[f.severity.value]}: {f.title}" in md
    assert not any(ord(ch) > 0x2FFF for ch in md)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_plot_text_is_high_contrast_on_the_plots_own_paper_and_large_enough_for_a_phone():
    import re

    t = synthetic_trace(**SICK)
    for svg in (gradient_flow_svg(t), gradient_norms_svg(t)):
        # the plot brings its paper: its contrast must not depend on the page's theme
        paper = re.search(r'<g id="patch_1">\s*<path [^>]*style="fill: (#[0-9a-f]{6})', svg)[1]
        styles = re.findall(r'<text[^>]*style="([^"]*)"', svg)
        assert styles
        for style in styles:
            fill = re.search(r"fill: (#[0-9a-f]{6})", style)[1]
            lighter, darker = sorted((_luminance(fill), _luminance(paper)), reverse=True)
            assert (lighter + 0.05) / (darker + 0.05) >= 7, style  # WCAG AAA
            assert float(re.search(r"font-size: ([\d.]+)px", style)[1]) >= 9, style


def test_plots_name_layers_as_the_report_does_never_by_a_bare_index():
    # synthetic_trace is an nn.Sequential: its module paths are "0", "2", ...
    t = synthetic_trace(**SICK)
    flow, norms = gradient_flow_svg(t), gradient_norms_svg(t)
    assert "model.0 (Linear)" in flow and "model.4 (Linear)" in flow
    assert "first layer: model.0 (Linear)" in norms
