"""Forms of the settings pages (tokens and webhooks)."""

from django import forms

from .models import SCOPES, WEBHOOK_EVENTS
from .services import WEBHOOK_URL_MAX_LENGTH, webhook_url_syntax_check

EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What will use it, e.g. “CI on my laptop”.", label="Token name"
    )
    scopes = forms.MultipleChoiceField(
        choices=list(SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        # Enough for the README's quick-start: upload a trace with a new question.
        initial=["read", "write", "traces"],
    )
    expires_days = forms.ChoiceField(
        choices=EXPIRY_CHOICES, required=False, initial="90", label="Expires"
    )

    def clean_expires_days(self) -> int | None:
        value = self.cleaned_data.get("expires_days")
        return int(value) if value else None


class WebhookCreateForm(forms.Form):
    url = forms.CharField(
        max_length=WEBHOOK_URL_MAX_LENGTH,
        label="Payload URL",
        validators=[webhook_url_syntax_check],  # the API's serializer uses the same one
        help_text="We POST signed JSON here.",
    )
    events = forms.MultipleChoiceField(
        choices=list(WEBHOOK_EVENTS.items()),
        widget=forms.CheckboxSelectMultiple,
        initial=["diagnosis.ready"],
    )
