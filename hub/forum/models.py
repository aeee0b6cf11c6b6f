"""Forum data: tags, questions, answers, comments, votes and revisions.

Markdown is rendered once at write time (body_html) by the services; the PostgreSQL search
vector on Question is also set by the services. GIN indexes exist only on PostgreSQL (see
hub/forum/dbops.py): the embedded run uses SQLite and must migrate too.
"""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse

from .tag_slugs import TAG_SLUG_MAX_LENGTH, tag_slug

TAG_MAX_LENGTH = 35  # Stack Overflow's limit on a tag name
TITLE_MAX_LENGTH = 150  # Stack Overflow's limit on a question title
EXCERPT_MAX_LENGTH = 220  # about two lines in the question list


class _SlugsTaken:
    """`slug in taken`: whether another tag has that slug (for tag_slug)."""

    def __init__(self, tag: "Tag"):
        self.tag = tag

    def __contains__(self, slug: str) -> bool:
        return Tag.objects.filter(slug=slug).exclude(pk=self.tag.pk).exists()


class Tag(models.Model):
    # The display name may hold '.', '+' and '#' (services.common.TAG_RE); URLs use the slug.
    name = models.CharField(max_length=TAG_MAX_LENGTH, unique=True)
    slug = models.SlugField(max_length=TAG_SLUG_MAX_LENGTH, unique=True, editable=False)
    description = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # An empty slug would make reverse() fail on every page listing the tag.
            models.CheckConstraint(condition=~Q(slug=""), name="forum_tag_slug_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Here rather than in a service: tags are also made by get_or_create (seed, admin).
        if not self.slug:
            self.slug = tag_slug(self.name, taken=_SlugsTaken(self))
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("forum:tag_detail", kwargs={"slug": self.slug})


class Question(models.Model):
    class CloseReason(models.TextChoices):
        DUPLICATE = "duplicate", "Duplicate"
        OFF_TOPIC = "off-topic", "Off-topic"
        UNCLEAR = "unclear", "Needs details or clarity"
        NOT_REPRODUCIBLE = "not-reproducible", "Not reproducible"

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="questions"
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    slug = models.SlugField(max_length=80, allow_unicode=False, blank=True)
    body = models.TextField()
    body_html = models.TextField(blank=True)
    # Plain-text start of the body for lists (set by the services with body_html).
    excerpt = models.CharField(max_length=EXCERPT_MAX_LENGTH + 1, blank=True)
    # The whole body as plain text (formulas as text, no markup): search snippets come from it.
    body_text = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, related_name="questions", blank=True)
    score = models.IntegerField(default=0)
    # Visible answers by people (Answer.counts_as_answer): the Gradient Doctor's diagnosis is
    # not one, so a question only the bot answered stays unanswered for the people who can help.
    answer_count = models.PositiveIntegerField(default=0)
    view_count = models.PositiveIntegerField(default=0)
    accepted_answer = models.ForeignKey(
        "Answer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_closed = models.BooleanField(default=False)
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    is_hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # PostgreSQL only: title (weight A) + body (weight B), set by the write services.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["-score", "-created_at"], name="forum_q_score_idx"),
            # The newest list and its count (an index-only scan instead of reading every row).
            models.Index(
                fields=["-created_at", "-id"],
                condition=models.Q(is_hidden=False),
                name="forum_q_visible_new_idx",
            ),
            GinIndex(fields=["search_vector"], name="forum_q_search_gin"),
            GinIndex(fields=["title"], opclasses=["gin_trgm_ops"], name="forum_q_title_trgm"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "forum:question_detail", kwargs={"question_id": self.pk, "slug": self.slug or "-"}
        )


class SearchWord(models.Model):
    """A word of the search vectors (a stemmed lexeme), with a trigram index on PostgreSQL: a
    search that finds nothing looks up the words nearest to its own ("vanishng" → "vanish").
    The write services add the words of each question they index; nothing removes them."""

    word = models.CharField(max_length=100, primary_key=True)

    class Meta:
        indexes = [GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="forum_word_trgm")]

    def __str__(self) -> str:
        return self.word


# The rows Question.answer_count counts, as a filter (Answer.counts_as_answer for one row).
COUNTED_ANSWERS = {"is_hidden": False, "is_automated": False}


class Answer(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="answers"
    )
    body = models.TextField()
    body_html = models.TextField(blank=True)
    score = models.IntegerField(default=0)
    is_automated = models.BooleanField(default=False)
    is_hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-score", "created_at"]

    def __str__(self) -> str:
        return f"Answer {self.pk} to {self.question_id}"

    def get_absolute_url(self) -> str:
        return f"{self.question.get_absolute_url()}#answer-{self.pk}"

    @property
    def counts_as_answer(self) -> bool:
        """Whether Question.answer_count counts it: visible, and written by a person."""
        return not self.is_hidden and not self.is_automated


class Comment(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    question = models.ForeignKey(
        Question, null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    answer = models.ForeignKey(
        Answer, null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField(max_length=600)
    body_html = models.TextField(blank=True)
    is_hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(question__isnull=False, answer__isnull=True)
                | Q(question__isnull=True, answer__isnull=False),
                name="forum_comment_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk}"

    def get_absolute_url(self) -> str:
        if self.question_id:
            return f"{self.question.get_absolute_url()}#comment-{self.pk}"
        return f"{self.answer.question.get_absolute_url()}#comment-{self.pk}"

    @property
    def target(self):
        return self.question if self.question_id else self.answer


class Vote(models.Model):
    UP = 1
    DOWN = -1

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes"
    )
    question = models.ForeignKey(
        Question, null=True, blank=True, on_delete=models.CASCADE, related_name="votes"
    )
    answer = models.ForeignKey(
        Answer, null=True, blank=True, on_delete=models.CASCADE, related_name="votes"
    )
    value = models.SmallIntegerField(choices=[(UP, "Up"), (DOWN, "Down")])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(question__isnull=False, answer__isnull=True)
                | Q(question__isnull=True, answer__isnull=False),
                name="forum_vote_one_target",
            ),
            models.CheckConstraint(condition=Q(value__in=[1, -1]), name="forum_vote_value"),
            models.UniqueConstraint(
                fields=["user", "question"],
                condition=Q(question__isnull=False),
                name="forum_vote_one_per_question",
            ),
            models.UniqueConstraint(
                fields=["user", "answer"],
                condition=Q(answer__isnull=False),
                name="forum_vote_one_per_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.value:+d}"


class Revision(models.Model):
    """One version of a post's content; number 1 is the original."""

    question = models.ForeignKey(
        Question, null=True, blank=True, on_delete=models.CASCADE, related_name="revisions"
    )
    answer = models.ForeignKey(
        Answer, null=True, blank=True, on_delete=models.CASCADE, related_name="revisions"
    )
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    body = models.TextField()
    tags = models.CharField(max_length=200, blank=True)  # space-separated, as shown
    summary = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(question__isnull=False, answer__isnull=True)
                | Q(question__isnull=True, answer__isnull=False),
                name="forum_revision_one_target",
            ),
            models.UniqueConstraint(
                fields=["question", "number"],
                condition=Q(question__isnull=False),
                name="forum_revision_question_number",
            ),
            models.UniqueConstraint(
                fields=["answer", "number"],
                condition=Q(answer__isnull=False),
                name="forum_revision_answer_number",
            ),
        ]

    def __str__(self) -> str:
        return f"Revision {self.number}"
