"""Markdown for every post on the site: rendered once at write time, stored as safe HTML.

CommonMark (markdown-it-py, raw HTML off) + tables, strikethrough and `$…$` / `$$…$$` math
(mdit-py-plugins dollarmath: marked up as `.math` elements that static/js/math.js renders with
the vendored KaTeX). Fenced code is highlighted on the server by Pygments (classes; the colours
live in static/css/pygments.css). `@username` of an existing user becomes a profile link. The
HTML then goes through nh3 with an allow-list (belt and braces: nothing raw gets in, but a bug in a plugin must not
become an XSS), links get rel="nofollow ugc", and glossary terms are linked (hub.glossary.autolink).
It lives in the glossary app because linking the glossary's terms is part of it; the forum,
the lesson and the trace pages all render through it.
"""

import hashlib
import re
from html import escape, unescape

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from hub.glossary.autolink import autolink_exclusions, autolink_html

CODE_CLASS = "codehilite"
MENTION_RE = re.compile(r"(?<![\w@/.])@([A-Za-z0-9][A-Za-z0-9_-]{2,29})\b")
_FORMATTER = HtmlFormatter(nowrap=True)


def _highlight(code: str, lang: str, attrs: str) -> str:
    """Pygments HTML for a fenced block; unknown or missing languages stay plain text."""
    name = (lang or "").strip().split()[0].lower() if lang else ""
    try:
        lexer = get_lexer_by_name(name) if name else None
    except ClassNotFound:
        lexer = None
    body = highlight(code, lexer, _FORMATTER) if lexer else escape(code)
    label = f' data-lang="{escape(name)}"' if lexer else ""
    return f'<pre class="{CODE_CLASS}"{label}><code>{body}</code></pre>\n'


def _existing_usernames(names: set[str]) -> set[str]:
    """The names that belong to active accounts: a mention of nobody stays plain text."""
    if not names:
        return set()
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return set(
        User.objects.filter(username__in=names, is_active=True).values_list("username", flat=True)
    )


def _mention_candidates(state) -> set[str]:
    names = set()
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        in_link = 0
        for token in block.children:
            if token.type == "link_open":
                in_link += 1
            elif token.type == "link_close":
                in_link -= 1
            elif token.type == "text" and not in_link and "@" in token.content:
                names.update(m.group(1) for m in MENTION_RE.finditer(token.content))
    return names


def _mentions(state) -> None:
    """Core rule: turn @username in text (not in code or links) into a profile link, when
    that user exists (one query per render, only when the text has mentions)."""
    existing = _existing_usernames(_mention_candidates(state))
    if not existing:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        in_link = 0
        for token in block.children:
            if token.type == "link_open":
                in_link += 1
            elif token.type == "link_close":
                in_link -= 1
            if token.type != "text" or in_link or "@" not in token.content:
                children.append(token)
                continue
            position = 0
            for match in MENTION_RE.finditer(token.content):
                if match.group(1) not in existing:
                    continue
                if match.start() > position:
                    text = Token("text", "", 0)
                    text.content = token.content[position : match.start()]
                    children.append(text)
                link_open = Token("link_open", "a", 1)
                link_open.attrs = {"href": f"/users/{match.group(1)}/", "class": "mention"}
                text = Token("text", "", 0)
                text.content = match.group(0)
                children.extend([link_open, text, Token("link_close", "a", -1)])
                position = match.end()
            if position < len(token.content):
                text = Token("text", "", 0)
                text.content = token.content[position:]
                children.append(text)
        block.children = children


def _build_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight})
    md.enable(["table", "strikethrough"])
    dollarmath_plugin(md, allow_labels=False, allow_digits=False, double_inline=True)
    md.core.ruler.push("mentions", _mentions)
    return md


_PARSER = _build_parser()

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "pre": {"data-lang"},
    "th": {"style"},
    "td": {"style"},
}
ALLOWED_CLASSES = {
    "span": {cls for cls in STANDARD_TYPES.values() if cls} | {"math", "inline"},
    "div": {"math", "block"},
    "pre": {CODE_CLASS},
    "a": {"mention"},
}
_CLEANER = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    allowed_classes=ALLOWED_CLASSES,
    url_schemes={"http", "https", "mailto"},
    link_rel="nofollow ugc",
    filter_style_properties={"text-align"},  # markdown-it's table column alignment
    strip_comments=True,
)


def render_markdown(text: str) -> str:
    """Markdown source → safe HTML for the page (see the module docstring)."""
    html = _CLEANER.clean(_PARSER.render(text or ""))
    html = autolink_html(html)
    return html


# LaTeX where only plain text fits (summaries, excerpts, search snippets): the commands our
# content uses, as Unicode; relations get spaces because LaTeX drops the one after a command.
_TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε",
    "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "partial": "∂",
    "nabla": "∇", "infty": "∞", "sum": "Σ", "prod": "∏", "sqrt": "√", "lVert": "‖",
    "rVert": "‖", "lceil": "⌈", "rceil": "⌉", "le": " ≤ ", "leq": " ≤ ", "ge": " ≥ ",
    "geq": " ≥ ", "ne": " ≠ ", "approx": " ≈ ", "cdot": " · ", "times": " × ", "pm": " ± ",
    "odot": " ⊙ ", "in": " ∈ ", "to": " → ", "rightarrow": " → ", "leftarrow": " ← ",
    "quad": " ", "qquad": " ", "left": "", "right": "", "bigl": "", "bigr": "",
    "text": "", "mathrm": "", "mathbf": "", "operatorname": "", "hat": "",
}  # fmt: skip
_TEX_COMMAND_RE = re.compile(r"\\([A-Za-z]+)(?: (?=[\w\\]))?")  # "\partial L" → "∂L"
_TEX_FRAC_RE = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_TEX_ATOM_RE = re.compile(r"[\w.'∂∇]+")
_MATH_SOURCE_RE = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)
_MATH_ELEMENT_RE = re.compile(r'(<(span|div) class="math[^"]*">)(.*?)(</\2>)', re.S)


def tex_plain(tex: str) -> str:
    """Readable plain text for a LaTeX formula: \\le → ≤, \\frac{a}{b} → a/b, braces dropped."""

    def command(match: re.Match) -> str:
        name = match.group(1)
        return "\\frac" if name == "frac" else _TEX_SYMBOLS.get(name, name)  # \\log → log

    def atom(part: str) -> str:
        part = part.strip()
        return part if _TEX_ATOM_RE.fullmatch(part) else f"({part})"

    text = _TEX_COMMAND_RE.sub(command, tex)
    while (fractions := _TEX_FRAC_RE.sub(lambda m: f"{atom(m[1])}/{atom(m[2])}", text)) != text:
        text = fractions  # innermost first, until none is left
    text = re.sub(r"\\[,;:! ]", " ", text).replace("{", "").replace("}", "")
    return " ".join(text.split())


def math_source_plain(text: str) -> str:
    """Markdown source with each `$…$` / `$$…$$` formula as plain text (search snippets)."""
    return _MATH_SOURCE_RE.sub(lambda m: tex_plain(m[1] or m[2]), text)


def math_html_plain(html: str) -> str:
    """Rendered HTML with each `.math` element's LaTeX as plain text (before tags are stripped)."""
    return _MATH_ELEMENT_RE.sub(lambda m: m[1] + escape(tex_plain(unescape(m[3]))) + m[4], html)


_PRE_RE = re.compile(r"<pre\b.*?</pre>", re.S)
_INLINE_TAG_RE = re.compile(r"</?(?:a|b|code|del|em|i|kbd|s|span|strong|sub|sup)\b[^>]*>")
_TAG_RE = re.compile(r"<[^>]+>")


def html_text(html: str, *, code: bool = True) -> str:
    """Plain text from rendered HTML: formulas as text, no tags, whitespace collapsed; code
    blocks kept as their text unless `code` is false."""
    html = html or ""
    if not code:
        html = _PRE_RE.sub(" ", html)
    text = _TAG_RE.sub(" ", _INLINE_TAG_RE.sub("", math_html_plain(html)))
    return " ".join(unescape(text).split())


def html_excerpt(html: str, *, max_length: int) -> str:
    """Plain text from rendered HTML, code blocks left out, cut at a word boundary."""
    text = html_text(html, code=False)
    if len(text) <= max_length:
        return text
    return text[:max_length].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def markdown_checksum(text: str) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def pygments_css(style: str = "github-dark") -> str:
    """The stylesheet for highlighted code (written to static/css/pygments.css)."""
    return HtmlFormatter(style=style).get_style_defs(f".{CODE_CLASS}")


def markdown_render(*, text: str, exclude: tuple[str, ...] = ()) -> str:
    """Markdown → safe HTML with glossary terms linked, except the ``exclude`` slugs (a term's
    own page does not link the term to itself)."""
    with autolink_exclusions(exclude):
        return render_markdown(text or "")


def code_highlight(*, code: str, language: str = "python") -> SafeString:
    """`<pre class="codehilite"><code>…</code></pre>` for our own code samples (glossary
    snippets, the lesson's main.py): the same Pygments classes as code in posts."""
    body = highlight(code, get_lexer_by_name(language), _FORMATTER)
    return mark_safe(f'<pre class="{CODE_CLASS}"><code>{body}</code></pre>')  # noqa: S308
