"""The lesson (steps, the Graph Matrix and each learner's progress), the article and the FAQ.

Content rows are loaded from `content/` by `manage.py load_learning_content`; markdown is
rendered once, when a row is loaded (see hub/glossary/markdown.py).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Lesson(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=150)
    summary = models.TextField(blank=True)
    # The Graph Matrix: nodes (leaves with values, operations with inputs) and their layout.
    graph = models.JSONField(default=dict)
    # Forward values, gradients, edge gradients and numeric answers, computed with torch
    # autograd the first time they are needed after the graph changes (hub/learn/graph.py).
    computed = models.JSONField(null=True, blank=True, editable=False)
    computed_checksum = models.CharField(max_length=64, blank=True, editable=False)
    source_checksum = models.CharField(max_length=64, blank=True, editable=False)

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("learn:lesson_resume")


class LessonStep(models.Model):
    class Kind(models.TextChoices):
        CHOICE = "choice", "Multiple choice"
        NUMERIC = "numeric", "Numeric"

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="steps")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=150)
    explanation = models.TextField()
    explanation_html = models.TextField(blank=True)
    code = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    prompt = models.TextField()
    prompt_html = models.TextField(blank=True)
    # choice: [{"key": "b", "text": "..."}, ...] and `correct` = "b";
    # numeric: `answer` = {"kind": "grad" | "value" | "sgd_step" | "accumulated_grad", ...}
    choices = models.JSONField(default=list, blank=True)
    correct = models.CharField(max_length=20, blank=True)
    answer = models.JSONField(default=dict, blank=True)
    hint = models.TextField(blank=True)
    feedback = models.TextField(blank=True, help_text="Shown after a correct answer (markdown).")
    feedback_html = models.TextField(blank=True)
    unlocks = models.JSONField(default=list, blank=True)
    source_checksum = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["lesson", "number"]
        constraints = [
            models.UniqueConstraint(fields=["lesson", "number"], name="learn_step_number")
        ]

    def __str__(self) -> str:
        return f"{self.lesson.slug} {self.number}: {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("learn:lesson_step", kwargs={"step": self.number})


class LessonProgress(models.Model):
    """One learner's way through one lesson: a user's, or an anonymous session's."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="lesson_progress",
    )
    # Anonymous visitors: a random token kept in their session (it survives the session key
    # change at log-in, so the progress can be carried over to the account).
    anon_token = models.UUIDField(null=True, blank=True)
    completed_steps = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lesson", "user"],
                condition=Q(user__isnull=False),
                name="learn_progress_one_per_user",
            ),
            models.UniqueConstraint(
                fields=["lesson", "anon_token"],
                condition=Q(anon_token__isnull=False),
                name="learn_progress_one_per_visitor",
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(anon_token__isnull=False),
                name="learn_progress_has_owner",
            ),
        ]

    def __str__(self) -> str:
        owner = self.user or f"visitor {str(self.anon_token)[:8]}"
        return f"{owner} in {self.lesson.slug}: {sorted(self.completed_steps)}"


class Article(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    body = models.TextField()
    body_html = models.TextField(blank=True)
    source_checksum = models.CharField(max_length=64, blank=True, editable=False)
    rendered_with = models.CharField(max_length=64, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("learn:article_detail", kwargs={"slug": self.slug})


class FaqEntry(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    question = models.CharField(max_length=200)
    answer = models.TextField()
    answer_html = models.TextField(blank=True)
    source_checksum = models.CharField(max_length=64, blank=True, editable=False)
    rendered_with = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name_plural = "FAQ entries"

    def __str__(self) -> str:
        return self.question

    def get_absolute_url(self) -> str:
        return reverse("learn:faq") + f"#{self.slug}"
