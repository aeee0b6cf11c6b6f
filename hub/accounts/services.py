"""Writes for accounts: creating people (and the bot), profiles, reputation."""

import logging
import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from .models import REPUTATION_START, Profile

logger = logging.getLogger(__name__)
User = get_user_model()

BOT_USERNAME = "gradient-doctor"
BOT_EMAIL = "gradient-doctor@gradhub.local"
# Usernames double as @mentions and URL parts: keep them to a plain, mention-safe alphabet.
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,29}$")
RESERVED_USERNAMES = {
    BOT_USERNAME,
    "admin",
    "administrator",
    "moderator",
    "moderators",
    "staff",
    "gradhub",
    "root",
    "system",
    "support",
    "anonymous",
}


def username_validate(*, username: str) -> None:
    if not USERNAME_RE.match(username):
        raise ValidationError(
            "Usernames are 3-30 characters: letters, digits, '-' or '_', starting with a "
            "letter or digit."
        )
    if username.lower() in RESERVED_USERNAMES:
        raise ValidationError("That username is reserved.")
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError("That username is taken.")


def username_suggest(*, hints: list[str]) -> str:
    """A free, valid username made from what a sign-in provider tells about a person (its
    login, the e-mail's local part, the name), in that order; a number is added when taken."""
    bases = [re.sub(r"[^A-Za-z0-9_-]+", "-", hint).strip("-_")[:30] for hint in hints]
    bases = [base for base in bases if len(base) >= 3] + ["member"]
    for base in bases:
        for suffix in ["", *(f"-{n}" for n in range(2, 100))]:
            candidate = base[: 30 - len(suffix)] + suffix
            try:
                username_validate(username=candidate)
            except ValidationError:
                continue
            return candidate
    raise ValidationError("No free username could be made from the provider's profile.")


def social_email_withhold_taken(*, sociallogin) -> None:
    """Drop from a new social sign-in the e-mail addresses that other accounts hold: the new
    account is made without them, as sign-up makes one (user_signup)."""
    from allauth.account.models import EmailAddress

    def held(email: str) -> bool:
        return (
            User.objects.filter(email__iexact=email).exists()
            or EmailAddress.objects.filter(email__iexact=email).exists()
        )

    sociallogin.email_addresses = [a for a in sociallogin.email_addresses if not held(a.email)]
    if sociallogin.user.email and held(sociallogin.user.email):
        sociallogin.user.email = ""


def _email_clean(email: str) -> str:
    email = User.objects.normalize_email((email or "").strip())
    if not email or "@" not in email:
        raise ValidationError("Enter a valid e-mail address.")
    return email


def _user_make(*, username: str, email: str, password: str) -> User:
    username_validate(username=username)
    validate_password(password, user=User(username=username, email=email))
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password)
        Profile.objects.create(user=user)
    return user


def user_create(*, username: str, email: str, password: str) -> User:
    """Create a person's account and their profile; validates name, e-mail and password."""
    username, email = (username or "").strip(), _email_clean(email)
    username_validate(username=username)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError("An account with that e-mail address already exists.")
    return _user_make(username=username, email=email, password=password)


def user_signup(*, username: str, email: str, password: str) -> User:
    """The public sign-up: like user_create, but a registered address is not revealed (as
    password reset does not reveal it). The account is made without an e-mail and the
    address's holder is told by e-mail, in case they meant to reset their password."""
    username, email = (username or "").strip(), _email_clean(email)
    holder = User.objects.filter(email__iexact=email).first()
    if holder is None:
        return _user_make(username=username, email=email, password=password)
    user = _user_make(username=username, email="", password=password)
    transaction.on_commit(lambda: _signup_attempt_notice(holder=holder))
    return user


def _signup_attempt_notice(*, holder) -> None:
    site = settings.SITE_URL.rstrip("/")
    body = (
        f"Someone tried to create a GradHub account with this e-mail address, which already "
        f"belongs to your account {holder.username}. The new account was not given it.\n\n"
        f"If that was you and you cannot log in, reset your password at "
        f"{site}/accounts/password/reset/\n\nIf it was not you, you need not do anything."
    )
    try:
        send_mail(
            subject="[GradHub] Sign-up attempt with your e-mail address",
            message=body,
            from_email=None,
            recipient_list=[holder.email],
        )
    except Exception:  # a mail outage must not break sign-up (nor reveal the address)
        logger.exception("sign-up notice to user %s failed", holder.pk)


def profile_get(*, user) -> Profile:
    """The user's profile, created on first use for accounts made outside user_create."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        profile, _ = Profile.objects.get_or_create(user=user)
        user.profile = profile
        return profile


BIO_MAX_LENGTH = 2000


def profile_update(*, user, bio: str) -> Profile:
    """Change what a person says about themselves (plain text, shown escaped)."""
    bio = (bio or "").strip()
    if len(bio) > BIO_MAX_LENGTH:
        raise ValidationError(f"Keep the bio under {BIO_MAX_LENGTH} characters.")
    profile = profile_get(user=user)
    profile.bio = bio
    profile.save(update_fields=["bio"])
    return profile


def bot_user_get() -> User:
    """The automated "Gradient Doctor" that posts diagnoses; created on first use."""
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            username=BOT_USERNAME, defaults={"email": BOT_EMAIL, "first_name": "Gradient Doctor"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Profile.objects.update_or_create(
            user=user,
            defaults={"is_bot": True},
            create_defaults={
                "is_bot": True,
                "bio": "I read gradient traces and explain what went wrong in training.",
            },
        )
    return user


def reputation_change(*, user, delta: int, reason: str) -> int:
    """Add `delta` to the user's reputation (never below the starting value); returns it."""
    if delta == 0:
        return profile_get(user=user).reputation
    profile = profile_get(user=user)
    Profile.objects.filter(pk=profile.pk).update(
        reputation=Greatest(F("reputation") + delta, Value(REPUTATION_START))
    )
    profile.refresh_from_db(fields=["reputation"])
    logger.debug("reputation %+d for %s: %s", delta, user.username, reason)
    return profile.reputation
