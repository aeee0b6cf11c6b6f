"""Server-side syntax highlighting for our own code samples (glossary snippets, main.py).

Uses the same Pygments classes as the forum's markdown (`codehilite`, styled by
static/css/pygments.css), so code looks the same everywhere.
"""

from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

CODE_CLASS = "codehilite"
_FORMATTER = HtmlFormatter(nowrap=True)


def code_highlight(*, code: str, language: str = "python") -> SafeString:
    """`<pre class="codehilite"><code>…</code></pre>` with Pygments spans (escaped by Pygments)."""
    body = highlight(code, get_lexer_by_name(language), _FORMATTER)
    return mark_safe(f'<pre class="{CODE_CLASS}"><code>{body}</code></pre>')  # noqa: S308
