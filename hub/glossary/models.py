"""Glossary terms and their revisions.

The source of truth for the shipped terms is `content/glossary/*.yaml` (loaded by
`manage.py load_learning_content`); staff may edit a term in the admin afterwards. Every change,
from a file or from the admin, keeps a TermRevision.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

SUMMARY_MAX_CHARS = 160  # tooltip length: about one sentence, fits a browser's title bubble


class Term(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=100)
    # Other spellings that mean the same term ("zero_grad()", "vanishing gradients"); used by
    # the auto-linker and to match forum tags.
    aliases = models.JSONField(default=list, blank=True)
    definition = models.TextField(help_text="Markdown: our own words, a paragraph or two.")
    definition_html = models.TextField(blank=True, editable=False)
    snippet = models.TextField(blank=True, help_text="A short runnable PyTorch snippet.")
    expected_output = models.TextField(
        blank=True, help_text="Exactly what the snippet prints (checked by the test suite)."
    )
    related = models.ManyToManyField("self", symmetrical=False, blank=True)
    # sha256 of the content file this row was last loaded from; the loader only rewrites the
    # row when the file changes, so an admin edit survives restarts.
    source_checksum = models.CharField(max_length=64, blank=True, editable=False)
    # The glossary fingerprint `definition_html` was auto-linked against (re-rendered when
    # another term's name, aliases or definition change).
    rendered_with = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("glossary:term_detail", kwargs={"slug": self.slug})

    @property
    def snippet_filename(self) -> str:
        """A module name for the snippet ("dead-relu" → dead_relu.py), never one that would
        shadow a package it imports (torch.py)."""
        return self.slug.replace("-", "_") + ".py"

    @property
    def letter(self) -> str:
        first = self.name[:1].upper()
        return first if first.isalpha() else "#"


class TermRevision(models.Model):
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=100)
    aliases = models.JSONField(default=list, blank=True)
    definition = models.TextField()
    snippet = models.TextField(blank=True)
    expected_output = models.TextField(blank=True)
    related_slugs = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["term", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["term", "number"], name="glossary_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.term.slug} r{self.number}"
