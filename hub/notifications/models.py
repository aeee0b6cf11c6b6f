"""In-app notifications, question follows and each person's e-mail preference."""

from django.conf import settings
from django.db import models
from django.db.models import Q

TEXT_MAX_LENGTH = 300  # one line in the list; services cut longer texts
URL_MAX_LENGTH = 500


class Notification(models.Model):
    class Verb(models.TextChoices):
        ANSWERED = "answered", "Answered"
        COMMENTED = "commented", "Commented"
        MENTIONED = "mentioned", "Mentioned"
        ACCEPTED = "accepted", "Accepted"
        DIAGNOSED = "diagnosed", "Diagnosed"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verb = models.CharField(max_length=20, choices=Verb.choices)
    text = models.CharField(max_length=TEXT_MAX_LENGTH)
    url = models.CharField(max_length=URL_MAX_LENGTH)
    question = models.ForeignKey(
        "forum.Question", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    is_read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The header counts unread rows on every page: a small partial index answers it.
            models.Index(fields=["recipient"], condition=Q(is_read=False), name="notif_unread_idx"),
            models.Index(fields=["recipient", "-created_at"], name="notif_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.verb}: {self.text}"


class QuestionFollow(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="question_follows"
    )
    question = models.ForeignKey("forum.Question", on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name="notif_follow_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.question_id}"


class NotificationSettings(models.Model):
    """Per-person preferences; a missing row means the defaults (no e-mail)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    email_notifications = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"{self.user_id} email={self.email_notifications}"
