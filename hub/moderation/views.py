"""Flag a post (everyone logged in) and the moderator queue (moderators only)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from hub.accounts.selectors import user_is_moderator
from hub.core.ratelimit import RateLimited
from hub.core.web import text_param
from hub.forum.models import Question

from . import selectors, services
from .models import Flag

PAGE_SIZE = 50
CLOSE_REASONS = [
    (Question.CloseReason.OFF_TOPIC, "Off-topic"),
    (Question.CloseReason.DUPLICATE, "Duplicate of…"),
]


def _target_url(target) -> str:
    url = getattr(target, "get_absolute_url", None)
    try:
        return url() if url else "/"
    except Exception:  # a post whose page cannot be reversed still gets a working redirect
        return "/"


def _safe_next(request, fallback: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def _error_text(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or "You are not allowed to do that."


@login_required
@require_http_methods(["GET", "POST"])
def flag_create(request):
    """GET shows the form on its own page (the no-JavaScript path); POST files the flag."""
    data = request.POST if request.method == "POST" else request.GET
    target_type, target_id = text_param(data, "target_type"), text_param(data, "target_id")
    reason, note = text_param(request.POST, "reason"), text_param(request.POST, "note")
    context = {
        "target_type": target_type,
        "target_id": target_id,
        "reasons": Flag.Reason.choices,
        "selected_reason": reason,
        "note": note,
        "next": _safe_next(request, ""),
    }
    try:
        target = selectors.flag_target_get(
            target_type=target_type, target_id=target_id, viewer=request.user
        )
    except ValidationError as exc:
        context["error"] = _error_text(exc)
        return render(request, "moderation/flag_page.html", context, status=400)
    context["target"] = target
    if request.method == "GET":
        return render(request, "moderation/flag_page.html", context)
    try:
        services.flag_create(
            reporter=request.user,
            target=target,
            reason=reason,
            note=note,
        )
    except RateLimited as exc:
        context["error"] = str(exc)
        response = render(request, "moderation/flag_page.html", context, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except (ValidationError, PermissionDenied) as exc:
        context["error"] = _error_text(exc)
        return render(request, "moderation/flag_page.html", context, status=400)
    messages.success(request, "Thanks for the flag: a moderator will review it.")
    return redirect(_safe_next(request, _target_url(target)))


@login_required
def flag_queue(request):
    if not user_is_moderator(user=request.user):
        raise PermissionDenied("The moderation queue is for moderators.")
    page = Paginator(selectors.flag_queue(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "moderation/queue.html",
        {"page": page, "flags": page.object_list, "close_reasons": CLOSE_REASONS},
    )


@login_required
@require_POST
def flag_action(request, flag_id: int):
    if not user_is_moderator(user=request.user):
        raise PermissionDenied("The moderation queue is for moderators.")
    flag = get_object_or_404(Flag, pk=flag_id)
    action = text_param(request.POST, "action")
    try:
        if action == "hide":
            count = services.flag_hide_target(moderator=request.user, flag=flag)
            done = "Post hidden"
        elif action == "close":
            duplicate_of = None
            reason = text_param(request.POST, "close_reason")
            if reason == Question.CloseReason.DUPLICATE:
                duplicate_of = _duplicate_get(text_param(request.POST, "duplicate_of"))
            count = services.flag_close_question(
                moderator=request.user, flag=flag, reason=reason, duplicate_of=duplicate_of
            )
            done = "Question closed"
        elif action == "dismiss":
            count = services.flag_dismiss(moderator=request.user, flag=flag)
            done = "Flag dismissed"
        elif action == "resolve":
            count = services.flag_resolve(moderator=request.user, flag=flag)
            done = "Flag resolved"
        else:
            raise ValidationError("Unknown action: choose hide, close, dismiss or resolve.")
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("moderation:queue")
    extra = f" ({count} flags settled)" if count > 1 else ""
    messages.success(request, f"{done}{extra}.")
    return redirect("moderation:queue")


def _duplicate_get(raw: str) -> Question:
    """The question a duplicate points at, from an id or a pasted question URL."""
    raw = (raw or "").strip()
    if raw.startswith(("http://", "https://", "/")):
        parts = [p for p in raw.split("/") if p.isdigit()]
        raw = parts[0] if parts else ""
    if not raw.isdigit():
        raise ValidationError("Give the id (or URL) of the question this one duplicates.")
    question = Question.objects.filter(pk=int(raw)).first()
    if question is None:
        raise ValidationError(f"Question {raw} does not exist.")
    return question
