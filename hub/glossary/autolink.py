"""Link the first mention of each glossary term in rendered HTML.

`autolink_html(html)` runs on every post write (hub.glossary.markdown.render_markdown), so it is
built for speed: one compiled regex over every name and alias (a prefix tree in which the
longest spelling wins, so "vanishing gradient" beats "gradient"), cached per process and
rebuilt only when the Term table changes (one cheap aggregate query per call checks that). The HTML is walked with the standard library's tokenizer, never with a regex: text
inside <code>, <pre>, <a>, <script>, <style>, headings and math elements (class "math") is left
alone, and so are names that merely contain a term (PROTECTED_PHRASES).
"""

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

# Text inside these elements is never linked: code, existing links, non-content.
# Headings too: a link there reads as a navigation item and breaks the title's flow.
SKIP_TAGS = frozenset(
    {"a", "code", "pre", "kbd", "samp", "script", "style", "svg", "math",
     "h1", "h2", "h3", "h4", "h5", "h6"}
)  # fmt: skip
# Names that contain a term but are not about it ("Gradient Doctor" is the bot, not a
# gradient). They join the regex as spellings without a term, so the longest match wins and
# the phrase is left as it is. The banner is hub/traces/bot_post.py's BOT_POST_BANNER.
PROTECTED_PHRASES = ("Gradient Doctor", "Gradient Doctor · automated diagnosis")
# Elements with one of these classes hold KaTeX source or output (see hub/glossary/markdown.py).
SKIP_CLASSES = frozenset({"math", "katex", "katex-display"})
# https://html.spec.whatwg.org/#void-elements: they never get an end tag.
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
LINK_CLASS = "glossary-link"


@dataclass(frozen=True)
class TermTable:
    fingerprint: tuple
    pattern: re.Pattern | None
    # normalised spelling ("vanishing gradient") -> (slug, tooltip); None: a protected phrase
    spellings: dict[str, tuple[str, str] | None]


_lock = threading.Lock()
_table: TermTable | None = None
# Slugs not to link while rendering a term's own text (see `autolink_exclusions`).
_excluded: ContextVar[frozenset[str]] = ContextVar(
    "glossary_autolink_excluded", default=frozenset()
)


@contextmanager
def autolink_exclusions(slugs) -> Iterator[None]:
    """Inside this block, autolink_html never links `slugs` (a term page does not link itself).

    Lets code that renders through hub.glossary.markdown.render_markdown — which calls
    autolink_html(html) without options — keep a term from linking to its own page.
    """
    token = _excluded.set(frozenset(slugs))
    try:
        yield
    finally:
        _excluded.reset(token)


def normalise(spelling: str) -> str:
    return " ".join(spelling.lower().split())


def _trie_regex(spellings: list[str]) -> str:
    """One regex for many spellings, factored by common prefixes ("adam", "adamw" → adamw?).

    A flat alternation of hundreds of words makes the regex engine try each one at every
    position; the prefix tree tries one branch per character. At each node the longer
    continuation is tried first (greedy), so the longest spelling that fits wins. A space in a
    spelling matches any run of whitespace (line-wrapped prose).
    """
    trie: dict = {}
    for spelling in spellings:
        node = trie
        for char in spelling:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:
        branches = [
            (r"\s+" if char == " " else re.escape(char)) + build(child)
            for char, child in sorted(node.items())
            if char
        ]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


def _fingerprint() -> tuple:
    from django.db.models import Count, Max

    from .models import Term

    stats = Term.objects.aggregate(count=Count("id"), last=Max("updated_at"))
    return (stats["count"], stats["last"])


def _build_table(fingerprint: tuple) -> TermTable:
    from .selectors import term_link_rows

    spellings: dict[str, tuple[str, str] | None] = {}
    for slug, name, aliases, summary in term_link_rows():
        for spelling in [name, *aliases]:
            key = normalise(spelling)
            if key and key not in spellings:
                spellings[key] = (slug, summary)
    if not spellings:
        return TermTable(fingerprint=fingerprint, pattern=None, spellings={})
    for phrase in PROTECTED_PHRASES:
        spellings.setdefault(normalise(phrase), None)
    alternation = _trie_regex(list(spellings))
    # Whole words only: no letter, digit, underscore, hyphen or dot glued to either side
    # ("ReLU" must not match inside "LeakyReLU" or "nn.ReLU"; a sentence-ending dot is fine).
    pattern = re.compile(rf"(?<![\w.\-])(?:{alternation})(?![\w\-]|\.\w)", re.IGNORECASE)
    return TermTable(fingerprint=fingerprint, pattern=pattern, spellings=spellings)


def term_table_invalidate() -> None:
    """Forget this process's table (after changes that keep the fingerprint, e.g. tooltips)."""
    global _table
    _table = None


def term_table() -> TermTable:
    """The cached table; one cheap aggregate query decides whether it is still current."""
    global _table
    fingerprint = _fingerprint()
    table = _table
    if table is None or table.fingerprint != fingerprint:
        with _lock:
            table = _build_table(fingerprint)
            _table = table
    return table


class _Linker(HTMLParser):
    def __init__(self, table: TermTable, exclude: set[str]):
        super().__init__(convert_charrefs=False)
        self.table = table
        self.linked: set[str] = set(exclude)
        self.out: list[str] = []
        self.skip_stack: list[str] = []

    # --- structure -----------------------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        self.out.append(self.get_starttag_text())
        if tag in VOID_TAGS:
            return
        if self.skip_stack or tag in SKIP_TAGS or self._has_skip_class(attrs):
            self.skip_stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.out.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        self.out.append(f"</{tag}>")
        if tag in self.skip_stack:
            # Pop up to the matching open tag (tolerates unclosed children).
            while self.skip_stack and self.skip_stack.pop() != tag:
                pass

    def handle_entityref(self, name):
        self.out.append(f"&{name};")

    def handle_charref(self, name):
        self.out.append(f"&#{name};")

    def handle_comment(self, data):
        self.out.append(f"<!--{data}-->")

    def handle_decl(self, decl):
        self.out.append(f"<!{decl}>")

    def handle_pi(self, data):
        self.out.append(f"<?{data}>")

    def unknown_decl(self, data):
        self.out.append(f"<![{data}]>")

    @staticmethod
    def _has_skip_class(attrs) -> bool:
        for name, value in attrs:
            if name == "class" and value and SKIP_CLASSES.intersection(value.split()):
                return True
        return False

    # --- text ----------------------------------------------------------------------------
    def handle_data(self, data):
        if self.skip_stack or len(self.linked) >= len(self.table.spellings):
            self.out.append(data)
            return
        position = 0
        for match in self.table.pattern.finditer(data):
            term = self.table.spellings[normalise(match.group(0))]
            if term is None:  # a protected phrase: its text stays as it is
                continue
            slug, summary = term
            if slug in self.linked:
                continue
            self.linked.add(slug)
            self.out.append(data[position : match.start()])
            self.out.append(
                f'<a class="{LINK_CLASS}" href="/glossary/{slug}/" title="{escape(summary)}">'
                f"{match.group(0)}</a>"
            )
            position = match.end()
        self.out.append(data[position:])


def autolink_html(html: str, *, exclude: tuple[str, ...] | set[str] = ()) -> str:
    """Return `html` with the first mention of each glossary term linked to its page.

    `exclude` lists slugs never to link (a term's own page does not link to itself).
    """
    if not html:
        return html
    table = term_table()
    if table.pattern is None or not table.pattern.search(html):
        return html
    linker = _Linker(table, set(exclude) | _excluded.get())
    linker.feed(html)
    linker.close()
    return "".join(linker.out)
