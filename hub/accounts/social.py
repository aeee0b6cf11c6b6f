"""GradHub's side of allauth's social sign-in: new accounts get a GradHub username and
profile, and an address that belongs to another account is never given to a new one."""

from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.http import Http404

from .services import profile_get, social_email_withhold_taken, username_suggest


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_provider(self, request, provider, client_id=None):
        # A provider that is installed but has no keys: its routes answer 404, not 500.
        try:
            return super().get_provider(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404("This sign-in provider is not configured.") from None

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        email = data.get("email") or ""
        user.username = username_suggest(
            hints=[
                data.get("username") or "",
                email.partition("@")[0],
                " ".join(filter(None, [data.get("first_name"), data.get("last_name")])),
                data.get("name") or "",
            ]
        )
        return user

    def pre_social_login(self, request, sociallogin):
        # Not linked (no verified address matched): it becomes a new account, which must not
        # take an address another account holds, as with sign-up (user_signup).
        if not sociallogin.is_existing:
            social_email_withhold_taken(sociallogin=sociallogin)

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        profile_get(user=user)
        return user
