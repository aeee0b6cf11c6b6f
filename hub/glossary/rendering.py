"""Markdown for the learning content: the forum's renderer when it exists, else a fallback.

The forum's `render_markdown` (markdown-it + Pygments + KaTeX markup + nh3 + auto-linking) is
the site's one renderer; the fallback keeps the glossary and lesson working without it.
"""

from .autolink import autolink_exclusions, autolink_html


def _fallback_render(text: str) -> str:
    import nh3
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": False})
    md.enable(["table"])
    dollarmath_plugin(md, allow_labels=False, allow_digits=False, double_inline=True)
    html = nh3.clean(md.render(text), attributes={"span": {"class"}, "div": {"class"}})
    return autolink_html(html)


def markdown_render(*, text: str, exclude: tuple[str, ...] = ()) -> str:
    """Markdown → safe HTML with glossary terms linked (except the `exclude` slugs)."""
    try:
        from hub.forum.markdown import render_markdown
    except ImportError:
        render_markdown = _fallback_render
    with autolink_exclusions(exclude):
        return render_markdown(text or "")
