from django.conf import settings
from django.db import models

# Stack Overflow starts every account at 1 and never lets reputation fall below it.
REPUTATION_START = 1


class Profile(models.Model):
    """What GradHub knows about a person beyond Django's User: reputation, bot flag, bio."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    reputation = models.IntegerField(default=REPUTATION_START)
    is_bot = models.BooleanField(default=False)
    bio = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.reputation})"
