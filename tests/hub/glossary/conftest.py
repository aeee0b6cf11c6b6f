import pytest

from hub.glossary.autolink import term_table_invalidate
from hub.glossary.services import term_rerender_stale, term_upsert


@pytest.fixture(autouse=True)
def _fresh_autolink_table():
    # The auto-linker caches its table per process, keyed on the Term table's state; tests
    # roll rows back, so start each one from a clean cache to keep them independent.
    term_table_invalidate()
    yield
    term_table_invalidate()


@pytest.fixture
def make_term(db):
    """make_term("ReLU", aliases=[...]) → a saved, rendered Term (slug from the name)."""

    def make(name: str, *, slug: str | None = None, aliases=(), definition: str | None = None):
        term, _ = term_upsert(
            slug=slug or name.lower().replace(" ", "-"),
            name=name,
            aliases=list(aliases),
            definition=definition or f"{name} is a term used in tests. It has two sentences.",
            snippet="print(1)\n",
            expected_output="1\n",
            source_checksum=f"test-{name}",
        )
        term_rerender_stale()
        term.refresh_from_db()
        return term

    return make
