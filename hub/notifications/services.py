"""Writes for notifications: notify people, follow questions, parse @mentions, preferences.

The forum's services call these after their own writes (answer -> followers, comment -> post
author, @mention -> the person, accept -> answer author); the pipeline calls `notify` when a
diagnosis lands. Nobody is ever notified about their own action.
"""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from markdown_it import MarkdownIt

from hub.accounts.member_version import member_version_bump

from .models import (
    TEXT_MAX_LENGTH,
    URL_MAX_LENGTH,
    Notification,
    NotificationSettings,
    QuestionFollow,
)

logger = logging.getLogger(__name__)
User = get_user_model()

# One event can reach a person along two paths (a follower who is also @mentioned in the same
# answer); both notifications point at the same url within the same request. A minute covers a
# slow request; a later event with the same url (a re-diagnosis) notifies again.
DEDUP_WINDOW = timedelta(seconds=60)
# A post naming more people than this is noise (or abuse); the first ones are notified.
MAX_MENTIONS_PER_POST = 10
# Same alphabet as hub.accounts.services.USERNAME_RE; not preceded by a word character, '@',
# '.', '/' or '-' so that e-mail addresses and URL paths are not mentions.
MENTION_RE = re.compile(r"(?<![\w@./-])@([A-Za-z0-9][A-Za-z0-9_-]{2,29})(?![\w-]*@)")

_markdown = MarkdownIt("commonmark")


def notification_settings_get(*, user) -> NotificationSettings:
    """The user's preferences (an unsaved default row when they never changed them)."""
    try:
        return NotificationSettings.objects.get(user=user)
    except NotificationSettings.DoesNotExist:
        return NotificationSettings(user=user)


def notification_settings_update(*, user, email_notifications: bool) -> NotificationSettings:
    prefs, _ = NotificationSettings.objects.update_or_create(
        user=user, defaults={"email_notifications": bool(email_notifications)}
    )
    return prefs


def _email_send(*, notification_id: int) -> None:
    """Send the e-mail for one notification; runs after the write commits."""
    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None or not notification.recipient.email:
        return
    site = settings.SITE_URL.rstrip("/")
    body = (
        f"{notification.text}\n\n{site}{notification.url}\n\n"
        f"You receive these e-mails because you switched them on at {site}/notifications/ "
        "— switch them off there."
    )
    try:
        send_mail(
            subject=f"[GradHub] {notification.text}"[:150],
            message=body,
            from_email=None,
            recipient_list=[notification.recipient.email],
        )
    except Exception:  # a mail server outage must not break posting
        logger.exception("notification e-mail %s failed", notification_id)


def notify(
    *, recipient, verb: str, text: str, url: str, actor=None, question=None
) -> Notification | None:
    """Notify `recipient`; returns None when nobody should be (own action, duplicate, inactive)."""
    if verb not in Notification.Verb.values:
        raise ValidationError(f"Unknown notification verb: {verb!r}.")
    if recipient is None or not recipient.is_active:
        return None
    if actor is not None and actor.pk == recipient.pk:
        return None
    url = url[:URL_MAX_LENGTH]
    recent = Notification.objects.filter(
        recipient=recipient,
        url=url,
        is_read=False,
        created_at__gte=timezone.now() - DEDUP_WINDOW,
    )
    if recent.exists():
        return None
    text = text.strip()
    if len(text) > TEXT_MAX_LENGTH:
        text = text[: TEXT_MAX_LENGTH - 1] + "…"
    if verb == Notification.Verb.DIAGNOSED and question is not None:
        # The pipeline posts the bot's answer (followers hear "answered") and then reports the
        # diagnosis: the asker gets the one, more useful notification, not both.
        bot_answer = Notification.objects.filter(
            recipient=recipient,
            question=question,
            verb=Notification.Verb.ANSWERED,
            actor__profile__is_bot=True,
            is_read=False,
            created_at__gte=timezone.now() - DEDUP_WINDOW,
        ).first()
        if bot_answer is not None:
            bot_answer.verb, bot_answer.text, bot_answer.url = verb, text, url
            bot_answer.save(update_fields=["verb", "text", "url"])
            member_version_bump(user_id=recipient.pk)  # their header's unread count
            return bot_answer
    notification = Notification.objects.create(
        recipient=recipient, actor=actor, verb=verb, text=text, url=url, question=question
    )
    member_version_bump(user_id=recipient.pk)  # their header's unread count
    if NotificationSettings.objects.filter(user=recipient, email_notifications=True).exists():
        transaction.on_commit(lambda: _email_send(notification_id=notification.pk))
    return notification


def question_follow(*, user, question) -> QuestionFollow:
    """Follow a question (idempotent)."""
    try:
        with transaction.atomic():
            follow, _ = QuestionFollow.objects.get_or_create(user=user, question=question)
    except IntegrityError:  # a concurrent follow won the race
        follow = QuestionFollow.objects.get(user=user, question=question)
    member_version_bump(user_id=user.pk)  # the follow button on the question page
    return follow


def question_unfollow(*, user, question) -> None:
    QuestionFollow.objects.filter(user=user, question=question).delete()
    member_version_bump(user_id=user.pk)


def question_follow_toggle(*, user, question) -> bool:
    """Follow when not following, unfollow otherwise; returns whether the user now follows."""
    if QuestionFollow.objects.filter(user=user, question=question).exists():
        question_unfollow(user=user, question=question)
        return False
    question_follow(user=user, question=question)
    return True


def question_followers(*, question):
    """The active users following `question` (a queryset)."""
    return User.objects.filter(question_follows__question=question, is_active=True).order_by("pk")


def notify_question_followers(
    *, question, verb: str, text: str, url: str, actor
) -> list[Notification]:
    """Notify every follower except the actor; returns the notifications made."""
    made = []
    with transaction.atomic():
        for follower in question_followers(question=question):
            notification = notify(
                recipient=follower, verb=verb, text=text, url=url, actor=actor, question=question
            )
            if notification is not None:
                made.append(notification)
    return made


def mentions_parse(*, text: str) -> list[str]:
    """Usernames mentioned as @name in markdown `text`, outside code, in order, no repeats."""
    names: list[str] = []
    seen: set[str] = set()
    for token in _markdown.parse(text or ""):
        if token.type != "inline":
            continue  # fences, indented code and raw HTML blocks are not prose
        for child in token.children or []:
            if child.type != "text":
                continue  # code spans (and link targets, which are attributes) are skipped
            for match in MENTION_RE.finditer(child.content):
                name = match.group(1)
                if name.lower() not in seen:
                    seen.add(name.lower())
                    names.append(name)
    return names


def mentions_notify(*, text: str, actor, question, url: str) -> list[Notification]:
    """Notify the people @mentioned in `text` (unknown names and the actor are ignored)."""
    names = [name.lower() for name in mentions_parse(text=text)][:MAX_MENTIONS_PER_POST]
    if not names:
        return []
    people = (
        User.objects.annotate(lower_name=Lower("username"))
        .filter(lower_name__in=names, is_active=True)
        .order_by("pk")
    )
    title = question.title if question is not None else "a post"
    verb_text = f"{actor.username} mentioned you in “{title}”"
    made = []
    with transaction.atomic():
        for person in people:
            notification = notify(
                recipient=person,
                verb=Notification.Verb.MENTIONED,
                text=verb_text,
                url=url,
                actor=actor,
                question=question,
            )
            if notification is not None:
                made.append(notification)
    return made


def notification_mark_read(*, user, notification_id: int) -> Notification | None:
    """Mark one of the user's notifications read; None when it is not theirs or missing."""
    notification = Notification.objects.filter(pk=notification_id, recipient=user).first()
    if notification is not None and not notification.is_read:
        notification.is_read = True
        notification.save(update_fields=["is_read"])
        member_version_bump(user_id=user.pk)  # their header's unread count
    return notification


def notifications_mark_read(*, user, notifications) -> int:
    """Mark the given notifications of the user read (a page being viewed); returns how many
    changed. Evaluates `notifications`, so the caller's objects keep their unread state."""
    ids = [n.pk for n in notifications if not n.is_read]
    marked = Notification.objects.filter(recipient=user, pk__in=ids, is_read=False).update(
        is_read=True
    )
    if marked:
        member_version_bump(user_id=user.pk)  # their header's unread count
    return marked


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    marked = Notification.objects.filter(recipient=user, is_read=False).update(is_read=True)
    if marked:
        member_version_bump(user_id=user.pk)  # their header's unread count
    return marked
