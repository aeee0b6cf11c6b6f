from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation

from .services import USERNAME_RE


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=30,
        help_text="3-30 letters, digits, '-' or '_'. People mention you as @username.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        help_text="For password resets and notifications you switch on. Never shown.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if not USERNAME_RE.match(username):
            raise forms.ValidationError(
                "Use 3-30 letters, digits, '-' or '_', starting with a letter or digit."
            )
        return username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return cleaned


class ProfileForm(forms.Form):
    bio = forms.CharField(
        required=False,
        max_length=2000,
        label="About you",
        help_text="A line or two: what you work on, what you can help with. Plain text.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, also for accounts without a password (made or linked through a sign-in
    provider), so their owners can set one: the e-mail proves the address. Never the bot."""

    def get_users(self, email):
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        return (
            user
            for user in users.exclude(profile__is_bot=True)
            if user.email.casefold() == email.casefold()
        )
