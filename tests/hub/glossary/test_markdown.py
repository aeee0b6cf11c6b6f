import re
from html.parser import HTMLParser

import pytest

from hub.glossary.markdown import render_markdown

# autolink_html (glossary) reads the Term table
pytestmark = pytest.mark.django_db

# Classic payloads (OWASP XSS filter evasion cheat sheet, PortSwigger's XSS cheat sheet).
XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/xss.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<img src=x onerror=alert(1)//",
    '<svg onload="alert(1)"><circle r="10"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](javascript:alert(1))",
    '[x](https://ok.example "title" onmouseover="alert(1)")',
    "<details open ontoggle=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<object data=javascript:alert(1)>",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "$<img src=x onerror=alert(1)>$",
    "$$</div><script>alert(1)</script>$$",
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "<!-- --><script>alert(1)</script>",
    "<style>body{display:none}</style>",
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "@<script>alert(1)</script>",
]

ALLOWED_TAGS = {
    "a", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "ul", "abbr",
}  # fmt: skip
SAFE_URL = re.compile(r"^(https?:|mailto:|/|#)", re.I)


class _Elements(HTMLParser):
    """Collects the real elements and attributes (escaped text does not count)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_xss_payload_comes_out_inert(payload):
    parser = _Elements()
    parser.feed(render_markdown(payload))
    for tag, attrs in parser.elements:
        assert tag in ALLOWED_TAGS, (payload, tag)
        for name, value in attrs.items():
            assert not name.startswith("on"), (payload, name)
            if name in ("href", "src"):
                assert SAFE_URL.match(value or ""), (payload, value)
            if name == "style":
                assert re.fullmatch(r"text-align:\s*(left|right|center)", value), (payload, value)


def test_links_get_nofollow_ugc():
    html = render_markdown("[docs](https://pytorch.org/docs)")
    assert html == '<p><a href="https://pytorch.org/docs" rel="nofollow ugc">docs</a></p>\n'


def test_fenced_code_is_highlighted_on_the_server():
    html = render_markdown("```python\nfor x in loader:\n    optimizer.zero_grad()\n```")
    assert '<pre class="codehilite" data-lang="python"><code>' in html
    assert '<span class="k">for</span>' in html


def test_unknown_language_stays_plain_and_escaped():
    html = render_markdown("```nosuchlang\na < b && c\n```")
    assert '<pre class="codehilite"><code>a &lt; b &amp;&amp; c' in html


def test_inline_and_display_math_are_marked_up_for_katex():
    html = render_markdown(
        "The gradient $\\partial L / \\partial w$ and\n\n$$\\sigma'(x) = \\sigma(x)(1-\\sigma(x))$$"
    )
    assert '<span class="math inline">\\partial L / \\partial w</span>' in html
    assert '<div class="math block">' in html
    assert "\\sigma'(x)" in html


def test_dollar_amounts_are_not_math():
    assert "math" not in render_markdown("The GPU cost $5 and then $10 more.")


def test_mentions_link_to_profiles_but_not_inside_code(make_user):
    make_user(username="alice_1")
    make_user(username="bob")
    html = render_markdown("Thanks @alice_1! Not `@bob` nor mail@example.com")
    assert '<a href="/users/alice_1/" class="mention" rel="nofollow ugc">@alice_1</a>' in html
    assert "/users/bob/" not in html and "/users/example" not in html


def test_mentions_of_users_who_do_not_exist_stay_plain_text(make_user):
    make_user(username="carol")
    html = render_markdown("Ask @carol or @nobody_here about it.")
    assert '<a href="/users/carol/" class="mention"' in html
    assert "/users/nobody_here/" not in html
    assert "@nobody_here about it." in html


def test_tables_keep_alignment_only():
    html = render_markdown("| a | b |\n|--:|---|\n| 1 | 2 |")
    assert '<th style="text-align:right">a</th>' in html


def test_glossary_terms_are_linked_in_prose_but_not_in_code():
    from hub.glossary.models import Term

    Term.objects.create(
        slug="vanishing-gradient",
        name="vanishing gradient",
        definition="Gradients that shrink toward the input.",
    )
    html = render_markdown("A vanishing gradient here, not in `vanishing gradient` code.")
    assert html.count('href="/glossary/vanishing-gradient/"') == 1
    assert "<code>vanishing gradient</code>" in html


def test_glossary_autolink_is_called_on_the_sanitised_html(monkeypatch):
    import hub.glossary.markdown as markdown

    monkeypatch.setattr(markdown, "autolink_html", lambda html: html.replace("zero_grad", "ZG"))
    assert "ZG" in markdown.render_markdown("call zero_grad")


def test_excerpt_is_plain_text_without_code_blocks_and_cut_at_a_word():
    from hub.glossary.markdown import html_excerpt

    html = render_markdown(
        "Call `zero_grad()` *first*.\n\n```python\nsecret_code()\n```\n\nThen step."
    )
    assert html_excerpt(html, max_length=200) == "Call zero_grad() first. Then step."
    assert html_excerpt(html, max_length=12) == "Call…"


@pytest.mark.parametrize(
    "tex, text",
    [
        (r"\sigma'(x) \le 0.25", "σ'(x) ≤ 0.25"),
        (r"\frac{1}{n}", "1/n"),
        (r"\frac{\partial L}{\partial w}", "∂L/∂w"),
        (r"\theta \leftarrow \theta - \eta \cdot g", "θ ← θ - η · g"),
        (r"\frac{a + b}{2}", "(a + b)/2"),
        (r"\text{lr} \approx 10^{-3}", "lr ≈ 10^-3"),
    ],
)
def test_latex_reads_as_plain_text(tex, text):
    from hub.glossary.markdown import tex_plain

    assert tex_plain(tex) == text


def test_summary_and_excerpt_show_math_as_plain_text_not_latex_source():
    from hub.glossary.markdown import html_excerpt
    from hub.glossary.selectors import term_summary

    html = render_markdown(r"The slope is $\sigma'(x) \le 0.25$. So it shrinks.")
    assert term_summary(definition_html=html) == "The slope is σ'(x) ≤ 0.25."
    assert html_excerpt(html, max_length=200) == "The slope is σ'(x) ≤ 0.25. So it shrinks."
