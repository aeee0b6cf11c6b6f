"""Flags: a person reports a question, answer or comment; moderators handle it in a queue."""

from django.conf import settings
from django.db import models
from django.db.models import Q

NOTE_MAX_LENGTH = 500


class Flag(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        RUDE = "rude", "Rude or abusive"
        OFF_TOPIC = "off-topic", "Off-topic"
        DUPLICATE = "duplicate", "Duplicate"
        OTHER = "other", "Something else"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="flags"
    )
    # Exactly one target, as forum.Comment / forum.Vote do: plain FKs keep joins and cascades.
    question = models.ForeignKey(
        "forum.Question", null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    answer = models.ForeignKey(
        "forum.Answer", null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    comment = models.ForeignKey(
        "forum.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=NOTE_MAX_LENGTH, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    action = models.CharField(max_length=40, blank=True)  # what the moderator did, for the log
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(state="open"), name="mod_flag_open_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(question__isnull=False, answer__isnull=True, comment__isnull=True)
                    | Q(question__isnull=True, answer__isnull=False, comment__isnull=True)
                    | Q(question__isnull=True, answer__isnull=True, comment__isnull=False)
                ),
                name="mod_flag_one_target",
            ),
            # One open flag per person per target (a handled flag lets them flag again).
            models.UniqueConstraint(
                fields=["reporter", "question"],
                condition=Q(state="open", question__isnull=False),
                name="mod_flag_open_question",
            ),
            models.UniqueConstraint(
                fields=["reporter", "answer"],
                condition=Q(state="open", answer__isnull=False),
                name="mod_flag_open_answer",
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"],
                condition=Q(state="open", comment__isnull=False),
                name="mod_flag_open_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"Flag {self.pk} ({self.reason}, {self.state})"

    @property
    def target(self):
        return self.question or self.answer or self.comment

    @property
    def target_type(self) -> str:
        if self.question_id:
            return "question"
        return "answer" if self.answer_id else "comment"
