"""The URL form of a tag name. Names may hold '.', '+' and '#' (node.js, c++, c#); URLs take
Django's slug converter only. Pure functions: the migration that filled the slugs uses them."""

import re

from django.utils.text import slugify

TAG_SLUG_MAX_LENGTH = 60
# Room for a "-<n>" suffix after a cut base.
_BASE_MAX_LENGTH = TAG_SLUG_MAX_LENGTH - 10
# What <slug:...> matches: a name made of these is its own slug, so its URL never changes.
SLUG_SAFE_RE = re.compile(r"[-a-zA-Z0-9_]+")
# Words, not deletion: c++ and c# must not both become "c".
_PUNCTUATION_WORDS = {"+": "plus", "#": "sharp", ".": "dot"}


def tag_slug_base(name: str) -> str:
    if SLUG_SAFE_RE.fullmatch(name) and len(name) <= _BASE_MAX_LENGTH:
        return name
    spelled = re.sub(r"[+#.]", lambda m: f"-{_PUNCTUATION_WORDS[m.group()]}-", name)
    return slugify(spelled)[:_BASE_MAX_LENGTH].strip("-_") or "tag"


def tag_slug(name: str, *, taken) -> str:
    """The slug of `name`: its base, else the base with the first free "-2", "-3"…
    `taken` is anything supporting `in` (a set, or a container asking the database)."""
    base = tag_slug_base(name)
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate
