"""The lesson, the article and the FAQ. Forms work without JavaScript; static/js/lesson.js
posts the same forms with `Accept: application/json` and updates the page in place."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hub.core.ratelimit import RateLimited
from hub.core.web import text_param
from hub.glossary.markdown import code_highlight

from . import selectors, services


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _lesson_or_404():
    lesson = selectors.lesson_get()
    if lesson is None:
        raise Http404("The lesson is not loaded yet: run `manage.py load_learning_content`.")
    return lesson


@require_GET
def landing(request):
    """/learn/: the lesson's landing page (the site's home until the hub took "/")."""
    return render(request, "learn/landing.html")


@require_GET
def lesson_resume(request):
    """/learn/backprop/: continue where the learner left off."""
    lesson = _lesson_or_404()
    progress = services.progress_for_request(request=request, lesson=lesson, create=False)
    total = lesson.steps.count()
    return redirect(
        "learn:lesson_step", step=selectors.progress_open_step(progress=progress, total=total)
    )


@require_http_methods(["GET", "POST"])
def lesson_step(request, step: int):
    lesson = _lesson_or_404()
    steps = selectors.lesson_steps(lesson=lesson)
    total = len(steps)
    if not 1 <= step <= total:
        raise Http404(f"The lesson has steps 1 to {total}.")
    current = steps[step - 1]
    progress = services.progress_for_request(
        request=request, lesson=lesson, create=request.method == "POST"
    )
    try:
        services.step_check_open(steps=steps, step=current, progress=progress)
    except services.StepLocked as locked:
        if _wants_json(request):
            return JsonResponse({"error": str(locked)}, status=403)
        messages.info(request, str(locked))
        return redirect("learn:lesson_step", step=locked.open_step)

    result = None
    answer = ""
    status = 200
    if request.method == "POST":
        answer = text_param(request.POST, "answer")
        try:
            result, progress = services.lesson_answer_submit(
                lesson=lesson,
                steps=steps,
                step=current,
                progress=progress,
                raw=answer,
                learner_key=str(request.user.pk or progress.anon_token),
            )
        except RateLimited as limited:
            if _wants_json(request):
                response = JsonResponse({"error": str(limited)}, status=429)
            else:
                response = render(
                    request, "learn/rate_limited.html", {"message": str(limited)}, status=429
                )
            response["Retry-After"] = str(limited.retry_after)
            return response
        status = 400 if result.malformed else 200
        if _wants_json(request):
            return _answer_json(
                request,
                lesson=lesson,
                steps=steps,
                step=current,
                progress=progress,
                result=result,
                status=status,
            )
        if result.correct:
            messages.success(request, result.message)
            return redirect("learn:lesson_step", step=step)

    context = _step_context(request, lesson=lesson, steps=steps, step=current, progress=progress)
    if result is None and context["step_done"] and current.kind == "choice":
        answer = current.correct  # show the answer the learner got right
    context.update(result=result, answer=answer)
    return render(request, "learn/step.html", context, status=status)


@require_POST
def lesson_reset(request):
    """Start the lesson over (a form on every step page once something is answered)."""
    lesson = _lesson_or_404()
    progress = services.progress_for_request(request=request, lesson=lesson, create=False)
    services.progress_reset(progress=progress)
    messages.info(request, "Your lesson progress was reset: the Graph Matrix is locked again.")
    return redirect("learn:lesson_step", step=1)


def _step_context(request, *, lesson, steps, step, progress) -> dict:
    total = len(steps)
    done = set(progress.completed_steps) if progress else set()
    complete = selectors.progress_is_complete(progress=progress, total=total)
    open_step = selectors.progress_open_step(progress=progress, total=total)
    unlocked = selectors.progress_unlocked_nodes(progress=progress, steps=steps)
    return {
        "lesson": lesson,
        "step": step,
        "total": total,
        "nav": [
            {
                "number": s.number,
                "title": s.title,
                "done": s.number in done,
                "open": s.number <= open_step,
                "current": s.number == step.number,
            }
            for s in steps
        ],  # fmt: skip
        "step_done": step.number in done,
        "complete": complete,
        "prompt_html": selectors.step_prompt_html(lesson=lesson, step=step),
        "code_html": code_highlight(code=step.code),
        "matrix": selectors.graph_matrix(lesson=lesson, unlocked=unlocked, complete=complete),
        "next_url": (
            reverse("learn:lesson_step", kwargs={"step": step.number + 1})
            if step.number < total and step.number in done
            else ""
        ),
        "answered_count": len(done),
    }


def _answer_json(request, *, lesson, steps, step, progress, result, status) -> JsonResponse:
    total = len(steps)
    complete = selectors.progress_is_complete(progress=progress, total=total)
    payload = {
        "correct": result.correct,
        "malformed": result.malformed,
        "message": result.message,
        "unlocked": result.unlocked if result.correct else [],
        "complete": complete,
        "next_url": (
            reverse("learn:lesson_step", kwargs={"step": step.number + 1})
            if result.correct and step.number < total
            else ""
        ),
        "feedback_html": step.feedback_html if result.correct else "",
    }
    if result.correct:
        unlocked = selectors.progress_unlocked_nodes(progress=progress, steps=steps)
        matrix = selectors.graph_matrix(lesson=lesson, unlocked=unlocked, complete=complete)
        payload["graph_html"] = render_to_string(
            "learn/_graph_matrix.html", {"matrix": matrix}, request=request
        )
    return JsonResponse(payload, status=status)


@require_GET
def article_detail(request, slug: str):
    article = selectors.article_get(slug=slug)
    if article is None:
        raise Http404("No such article.")
    return render(request, "learn/article.html", {"article": article})


@require_GET
def faq(request):
    return render(request, "learn/faq.html", {"entries": selectors.faq_list()})
