"""Load the glossary, the lesson, the article and the FAQ from `content/`, idempotently.

`make run` calls this on every start, so a run with nothing changed only reads the files and
compares checksums (a few queries). A row is rewritten only when its file changed; markdown is
re-rendered when the glossary it is auto-linked against changed. Terms edited in the admin keep
their edits until their file changes.
"""

import time
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from hub.glossary.models import Term
from hub.glossary.services import (
    content_checksum,
    glossary_fingerprint,
    term_related_set,
    term_rerender_stale,
    term_revision_record,
    term_upsert,
)
from hub.learn.models import FaqEntry
from hub.learn.selectors import lesson_computed
from hub.learn.services import article_upsert, faq_upsert, lesson_upsert

CONTENT_DIR = Path(settings.BASE_DIR) / "content"
REQUIRED_TERM_FIELDS = ("name", "definition", "snippet", "output")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


def _read_yaml(path: Path) -> tuple[dict | list, str]:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=LOADER), text  # noqa: S506 - a safe loader
    except yaml.YAMLError as error:
        raise CommandError(f"{path}: not valid YAML: {error}") from None


def _front_matter(path: Path) -> tuple[dict, str, str]:
    """(metadata, body, raw text) of a markdown file that starts with a `---` YAML block."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        raise CommandError(f"{path}: expected a '---' YAML header with title and summary")
    header, body = text[4:].split("\n---\n", 1)
    return yaml.load(header, Loader=LOADER) or {}, body.strip() + "\n", text  # noqa: S506


class Command(BaseCommand):
    help = "Load glossary terms, the lesson, the article and the FAQ from content/ (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--content-dir", type=Path, default=CONTENT_DIR)

    def handle(self, *args, content_dir: Path, **options):
        started = time.perf_counter()
        with transaction.atomic():
            terms, terms_changed = self._load_glossary(content_dir / "glossary")
            fingerprint = glossary_fingerprint()
            lessons = self._load_lessons(content_dir / "lesson", fingerprint)
            articles = self._load_articles(content_dir / "articles", fingerprint)
            faq = self._load_faq(content_dir / "faq.yaml", fingerprint)
        elapsed = time.perf_counter() - started
        if options["verbosity"] < 1:
            return
        self.stdout.write(
            f"Learning content: {terms} terms ({terms_changed} changed), "
            f"{lessons[0]} lesson(s) ({lessons[1]} changed), {articles[0]} article(s) "
            f"({articles[1]} changed), {faq[0]} FAQ entries ({faq[1]} changed) in {elapsed:.2f}s"
        )

    # --- glossary ----------------------------------------------------------------------------
    def _load_glossary(self, folder: Path) -> tuple[int, int]:
        paths = sorted(folder.glob("*.yaml"))
        loaded = dict(Term.objects.values_list("slug", "source_checksum"))
        related: dict[str, list[str]] = {}
        changed: list[Term] = []
        for path in paths:
            text = path.read_text(encoding="utf-8")
            checksum = content_checksum(text)
            if loaded.get(path.stem) == checksum:
                related[path.stem] = []  # unchanged: parsed below only if another term changed
                continue
            data, _ = _read_yaml(path)
            missing = [name for name in REQUIRED_TERM_FIELDS if not data.get(name)]
            if missing:
                raise CommandError(f"{path}: missing {', '.join(missing)}")
            term, was_changed = term_upsert(
                slug=path.stem,
                name=str(data["name"]).strip(),
                aliases=[str(alias) for alias in data.get("aliases") or []],
                definition=data["definition"].strip(),
                snippet=data["snippet"].rstrip() + "\n",
                expected_output=data["output"].rstrip() + "\n",
                source_checksum=checksum,
            )
            related[term.slug] = list(data.get("related") or [])
            if was_changed:
                changed.append(term)
        if changed:
            for path in paths:  # a new term may be the related term of an unchanged one
                if not related[path.stem]:
                    related[path.stem] = list(_read_yaml(path)[0].get("related") or [])
        if changed:
            unknown = {
                f"{slug} → {target}"
                for slug, targets in related.items()
                for target in targets
                if target not in related and not Term.objects.filter(slug=target).exists()
            }
            if unknown:  # a typo, or a partial content folder: say so, link the rest
                self.stderr.write(
                    f"Skipped related terms that do not exist: {', '.join(sorted(unknown))}"
                )
            for term in Term.objects.filter(slug__in=related):
                term_related_set(term=term, related_slugs=related[term.slug])
            for term in changed:
                term_revision_record(term=term, note="loaded from content/glossary")
        term_rerender_stale()
        return len(paths), len(changed)

    # --- lesson, article, FAQ ---------------------------------------------------------------
    def _load_lessons(self, folder: Path, fingerprint: str) -> tuple[int, int]:
        paths = sorted(folder.glob("*.yaml"))
        changed = 0
        for path in paths:
            data, text = _read_yaml(path)
            try:
                lesson, was_changed = lesson_upsert(
                    data=data, checksum=content_checksum(text, fingerprint)
                )
                # Compute the Graph Matrix with torch here, when the content changed, so web
                # workers read stored numbers and never import torch (a no-op when current).
                lesson_computed(lesson=lesson)
            except (KeyError, ValueError) as error:
                raise CommandError(f"{path}: {error}") from None
            changed += was_changed
        return len(paths), changed

    def _load_articles(self, folder: Path, fingerprint: str) -> tuple[int, int]:
        paths = sorted(folder.glob("*.md"))
        changed = 0
        for path in paths:
            meta, body, text = _front_matter(path)
            if not meta.get("title"):
                raise CommandError(f"{path}: the header needs a title")
            _, was_changed = article_upsert(
                slug=path.stem,
                title=meta["title"],
                summary=str(meta.get("summary", "")).strip(),
                body=body,
                checksum=content_checksum(text),
                rendered_with=fingerprint,
            )
            changed += was_changed
        return len(paths), changed

    def _load_faq(self, path: Path, fingerprint: str) -> tuple[int, int]:
        if not path.exists():
            return 0, 0
        entries, _ = _read_yaml(path)
        changed = 0
        slugs = []
        for position, entry in enumerate(entries or [], start=1):
            if not entry.get("slug") or not entry.get("question") or not entry.get("answer"):
                raise CommandError(f"{path}: entry {position} needs slug, question and answer")
            text = f"{entry['question']}\n{entry['answer']}"
            _, was_changed = faq_upsert(
                slug=entry["slug"],
                position=position,
                question=entry["question"].strip(),
                answer=entry["answer"].strip(),
                checksum=content_checksum(text),
                rendered_with=fingerprint,
            )
            changed += was_changed
            slugs.append(entry["slug"])
        removed, _ = FaqEntry.objects.exclude(slug__in=slugs).delete()
        return len(slugs), changed + removed
