"""Web views for traces: thin wrappers that validate input, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hub.core.ratelimit import RateLimited
from hub.core.uploads import StorageUnavailable, upload_refusal
from hub.core.web import RATE_IP_POST, ip_limit, login_then, text_param
from hub.forum.forms import AskForm
from hub.forum.models import Question
from hub.forum.services import NEW_USER_QUESTIONS_PER_DAY, new_user_questions_left
from hub.glossary.markdown import render_markdown
from hub.traces.bot_post import bot_post_body
from hub.traces.forms import TraceUploadForm
from hub.traces.models import Trace
from hub.traces.selectors import (
    diagnosis_latest,
    home_page,
    trace_ask_prefill,
    trace_can_download,
    trace_get_for_user,
)
from hub.traces.services import TraceRejected, question_ask_with_trace, trace_upload

# The plots are matplotlib SVGs: no scripts, no external loads; inline styles only.
PLOT_CSP = "default-src 'none'; style-src 'unsafe-inline'"


@require_GET
def home(request):
    """The site's front page: ask, diagnose, the forum and the Gradient Doctor at a glance."""
    return render(request, "core/home.html", {"page": home_page(viewer=request.user)})


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _error_message(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _card_html(request, trace: Trace) -> str:
    return render_to_string(
        "traces/_trace_card.html", _card_context(request, trace), request=request
    )


def _card_context(request, trace: Trace) -> dict:
    diagnosis = diagnosis_latest(trace=trace) if trace.is_terminal else None
    return {
        "trace": trace,
        "diagnosis": diagnosis,
        "is_owner": request.user.is_authenticated and request.user.pk == trace.owner_id,
        "can_download": trace_can_download(trace=trace, user=request.user),
    }


def _plots_pending(trace: Trace, diagnosis) -> bool:
    return (
        trace.state == Trace.State.DIAGNOSED and diagnosis is not None and not diagnosis.plots_done
    )


def _upload(request, *, question=None, private: bool):
    """Shared POST handling: JSON for the drag-and-drop script, a page otherwise."""
    form = TraceUploadForm(request.POST, request.FILES)
    status = 400
    try:
        if form.is_valid():
            trace = trace_upload(
                owner=request.user,
                uploaded_file=form.cleaned_data["file"],
                question=question,
                private=private,
            )
            if _wants_json(request):
                return JsonResponse(
                    {
                        "id": trace.pk,
                        "state": trace.state,
                        "url": trace.get_absolute_url(),
                        "html": _card_html(request, trace),
                    }
                )
            return redirect(question.get_absolute_url() if question else trace)
        message = " ".join(e for errors in form.errors.values() for e in errors)
    except ValidationError as exc:
        message = _error_message(exc)
    except PermissionDenied as exc:
        message, status = str(exc) or "You cannot do that.", 403
    except RateLimited as exc:
        message, status = str(exc), 429
    except StorageUnavailable as exc:
        message, status = str(exc), 503
    return _upload_failed(request, form=form, question=question, message=message, status=status)


def _upload_failed(request, *, form, question, message: str, status: int):
    if _wants_json(request):
        return JsonResponse({"error": message}, status=status)
    if form.is_bound and message not in str(form.errors):
        form.add_error(None, message)
    context = {"form": form, "question": question, "error": message}
    return render(request, "traces/new.html", context, status=status)


def _upload_refused(request, message: str, question_id: int | None = None):
    """A body over the size limit, refused before it was read (hub.core.uploads)."""
    question = get_object_or_404(Question, pk=question_id) if question_id is not None else None
    return _upload_failed(
        request, form=TraceUploadForm(), question=question, message=message, status=400
    )


@login_required
@require_http_methods(["GET", "POST"])
@upload_refusal(_upload_refused)
def trace_new(request):
    """Diagnose a trace privately: the result page is for the uploader alone."""
    if request.method == "POST":
        return _upload(request, private=True)
    recent = Trace.objects.filter(owner=request.user).order_by("-created_at")[:10]
    return render(request, "traces/new.html", {"form": TraceUploadForm(), "recent": recent})


@login_required
@require_POST
@upload_refusal(_upload_refused)
def question_trace_upload(request, question_id: int):
    """The asker attaches a trace (or a new one after a failure) to their question."""
    question = get_object_or_404(Question, pk=question_id)
    return _upload(request, question=question, private=False)


@require_GET
def trace_detail(request, trace_id: int):
    trace = trace_get_for_user(user=request.user, trace_id=trace_id)
    context = _card_context(request, trace)
    diagnosis = context["diagnosis"]
    report_html = ""
    if diagnosis is not None:
        report_html = render_markdown(bot_post_body(trace=trace, diagnosis=diagnosis))
    context |= {"report_html": report_html, "ask_url": _ask_url(trace, context["is_owner"])}
    return render(request, "traces/detail.html", context)


def _ask_url(trace: Trace, is_owner: bool) -> str:
    """ "Ask the community" for a diagnosed private trace: the forum's ask page, pre-filled."""
    if not is_owner or trace.question_id is not None or trace.state != Trace.State.DIAGNOSED:
        return ""
    return f"/questions/ask/?trace={trace.pk}"


@never_cache
@require_GET
def trace_status(request, trace_id: int):
    """Polled every ~1.5 s by static/js/traces.js until the state is terminal."""
    trace = trace_get_for_user(user=request.user, trace_id=trace_id)
    diagnosis = diagnosis_latest(trace=trace) if trace.is_terminal else None
    data = {
        "id": trace.pk,
        "state": trace.state,
        "state_label": trace.get_state_display(),
        "terminal": trace.is_terminal,
        "failure_reason": trace.failure_reason,
        "plots_pending": _plots_pending(trace, diagnosis),
    }
    if trace.is_terminal:
        data["html"] = _card_html(request, trace)
    return JsonResponse(data)


@require_GET
def trace_download(request, trace_id: int):
    trace = trace_get_for_user(user=request.user, trace_id=trace_id)
    if not trace_can_download(trace=trace, user=request.user):
        raise Http404("No such trace.")
    try:
        handle = trace.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is gone.") from exc
    name = trace.original_name or f"trace-{trace.pk}.trace"
    return FileResponse(
        handle, as_attachment=True, filename=name, content_type="application/octet-stream"
    )


@require_GET
def trace_plot(request, trace_id: int, name: str):
    trace = trace_get_for_user(user=request.user, trace_id=trace_id)
    diagnosis = diagnosis_latest(trace=trace)
    svg = (diagnosis.plots or {}).get(name) if diagnosis else None
    if not svg:
        raise Http404("No such plot.")
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Content-Security-Policy"] = PLOT_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=300"
    return response


def _ask_refused(request, message: str):
    """A body over the size limit, refused before it was read: the ask form, blank but for why."""
    form = AskForm()
    form.errors["trace"] = form.error_class([message])  # unbound: no cleaned_data to add_error to
    return _ask_page(request, form=form, prefill=None, status=400)


def _ask_page(request, *, form, prefill, status: int):
    user = request.user
    return render(
        request,
        "forum/question_ask.html",
        {
            "form": form,
            "trace_uploads": True,
            "attached_trace": prefill["trace"] if prefill is not None else None,
            # Said before they write, so a new account is not surprised by the cap.
            "questions_left": new_user_questions_left(user) if user.is_authenticated else None,
            "questions_per_day": NEW_USER_QUESTIONS_PER_DAY,
        },
        status=status,
    )


def _ask_rate_limited(request, *, form, prefill, error: RateLimited):
    """Refused for now: the form again with everything typed, why, and how long to wait."""
    form.add_error(None, f"{error} Your draft is kept below.")
    if request.FILES.get("trace"):
        # A browser never re-fills a file input: say so rather than drop it silently.
        form.add_error("trace", "Your draft is kept, but not the file: attach the trace file "
                       "again when you post.")  # fmt: skip
    response = _ask_page(request, form=form, prefill=prefill, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


@upload_refusal(_ask_refused)
def question_ask(request):
    """The forum's ask page: a question, optionally with a new trace or the asker's own
    diagnosed private trace ("Ask the community" from a trace page)."""
    if not request.user.is_authenticated:
        return login_then(request, request.get_full_path())
    status = 200
    prefill = None
    if request.method == "POST":
        form = AskForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            prefill = trace_ask_prefill(user=request.user, trace_id=data.get("attach_trace"))
            try:
                ip_limit(request, scope="post", rule=RATE_IP_POST)
                question, trace = question_ask_with_trace(
                    author=request.user,
                    title=data["title"],
                    body=data["body"],
                    tags=data["tags"],
                    trace_file=request.FILES.get("trace"),
                    trace=prefill["trace"] if prefill is not None else None,
                )
            except TraceRejected as error:
                form.add_error("trace", error)
                status = 400
            except RateLimited as error:
                return _ask_rate_limited(request, form=form, prefill=prefill, error=error)
            except StorageUnavailable as error:
                form.add_error("trace", str(error))
                status = 503
            except ValidationError as error:
                if "trace" not in form.errors:
                    form.add_error(None, error)
                status = 400
            else:
                if trace is None:
                    messages.success(request, "Your question is live.")
                    return redirect(question.get_absolute_url())
                # The trace's live state is below the question: say so, and scroll to its card.
                reading = "" if trace.is_terminal else " The Gradient Doctor is reading your trace…"
                messages.success(request, "Your question is live." + reading)
                return redirect(f"{question.get_absolute_url()}#trace-{trace.pk}")
        else:
            status = 400
    else:
        initial = {"title": text_param(request.GET, "title")[:150]}
        # ?trace=<id>: someone else's or an unknown trace is ignored (an ordinary blank form).
        prefill = trace_ask_prefill(user=request.user, trace_id=request.GET.get("trace"))
        if prefill is not None:
            initial.update(
                title=prefill["title"], body=prefill["body"], attach_trace=prefill["trace"].pk
            )
        form = AskForm(initial=initial)
    return _ask_page(request, form=form, prefill=prefill, status=status)
