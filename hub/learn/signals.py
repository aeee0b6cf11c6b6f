"""Carry anonymous lesson progress over when a visitor logs in (or signs up and is logged in)."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .services import progress_merge_on_login


@receiver(user_logged_in, dispatch_uid="learn.progress_merge_on_login")
def _merge_progress(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        progress_merge_on_login(user=user, session=request.session)
