"""Settings pages for people: personal access tokens and webhook endpoints (under /settings/).

A new token or webhook secret is shown once, by the response to the form that created it: it
is never put in the session (nor anywhere else server-side but the token's hash), and that
response is not cached.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from hub.core.ratelimit import RateLimited

from . import selectors, services, webhooks
from .forms import TokenCreateForm, WebhookCreateForm
from .models import EVENT_PING


def _settings_page(
    request, *, token_form=None, webhook_form=None, new_token=None, new_secret=None, status=200
):
    response = render(
        request,
        "api/settings.html",
        {
            "token_form": token_form or TokenCreateForm(),
            "webhook_form": webhook_form or WebhookCreateForm(),
            "new_token": new_token,
            "new_secret": new_secret,
            "webhook_endpoints": selectors.webhook_endpoint_list_for_user(user=request.user),
        },
        status=status,
    )
    if new_token or new_secret:
        add_never_cache_headers(response)  # no copy of the secret in any cache
    return response


@login_required
def settings_page(request):
    return _settings_page(request)


@login_required
@require_POST
def token_create(request):
    form = TokenCreateForm(request.POST)
    status, headers = 400, {}
    if form.is_valid():
        try:
            token, raw = services.token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_days=form.cleaned_data["expires_days"],
            )
        except RateLimited as exc:
            form.add_error(None, str(exc))
            status, headers = 429, {"Retry-After": str(exc.retry_after)}
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            return _settings_page(request, new_token={"name": token.name, "raw": raw})
    response = _settings_page(request, token_form=form, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@login_required
@require_POST
def token_revoke(request, token_id: int):
    token = selectors.token_list_for_user(user=request.user).filter(pk=token_id).first()
    if token is None:
        raise Http404
    services.token_revoke(user=request.user, token=token)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("api_web:settings")


@login_required
@require_POST
def webhook_create(request):
    form = WebhookCreateForm(request.POST)
    if form.is_valid():
        try:
            endpoint, secret = services.webhook_endpoint_create(
                user=request.user, url=form.cleaned_data["url"], events=form.cleaned_data["events"]
            )
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(getattr(exc, "messages", [str(exc)]))
            form.add_error("url" if "host" in message else None, message)
        else:
            return _settings_page(request, new_secret={"url": endpoint.url, "secret": secret})
    return _settings_page(request, webhook_form=form, status=400)


def _endpoint(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_list_for_user(user=request.user).filter(pk=endpoint_id)
    endpoint = endpoint.first()
    if endpoint is None:
        raise Http404
    return endpoint


@login_required
@require_POST
def webhook_toggle(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    services.webhook_endpoint_update(
        user=request.user, endpoint=endpoint, is_active=not endpoint.is_active
    )
    return redirect("api_web:settings")


@login_required
@require_POST
def webhook_delete(request, endpoint_id: int):
    try:
        services.webhook_endpoint_delete(
            user=request.user, endpoint=_endpoint(request, endpoint_id)
        )
    except PermissionDenied as exc:  # pragma: no cover - _endpoint already filters by owner
        raise Http404 from exc
    messages.success(request, "Webhook endpoint deleted.")
    return redirect("api_web:settings")


@login_required
@require_POST
def webhook_ping(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    webhooks.webhook_delivery_enqueue(
        endpoint=endpoint, event=EVENT_PING, payload={"endpoint_id": endpoint.pk}
    )
    messages.success(request, "Test delivery queued: see the log below in a few seconds.")
    return redirect("api_web:webhook_detail", endpoint_id=endpoint.pk)


@login_required
def webhook_detail(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    return render(
        request,
        "api/webhook_detail.html",
        {"endpoint": endpoint, "deliveries": selectors.webhook_delivery_list(endpoint=endpoint)},
    )
