"""Notification pages: the list, mark read, follow toggle, the e-mail preference."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from hub.core.web import safe_next_url

from . import selectors, services

PAGE_SIZE = 30


class NotificationSettingsForm(forms.Form):
    email_notifications = forms.BooleanField(
        required=False,
        label="E-mail me when I get a notification",
        help_text="Sent to the address on your account. Off by default.",
    )


@login_required
@require_GET
def notification_list(request):
    page = Paginator(selectors.notification_list(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # Seen means read; the rows were loaded first, so this page still highlights the new ones
    # while the header (counted at render) already shows them read.
    services.notifications_mark_read(user=request.user, notifications=page.object_list)
    prefs = services.notification_settings_get(user=request.user)
    form = NotificationSettingsForm(initial={"email_notifications": prefs.email_notifications})
    return render(
        request,
        "notifications/list.html",
        {"page": page, "notifications": page.object_list, "settings_form": form},
    )


@login_required
@require_GET
def notification_go(request, notification_id: int):
    """Mark the notification read and follow its link (a link in the list, so a plain GET)."""
    notification = services.notification_mark_read(
        user=request.user, notification_id=notification_id
    )
    if notification is None:
        return redirect("notifications:list")
    url = notification.url
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        url = "/"
    return HttpResponseRedirect(url)


@login_required
@require_POST
def notification_mark_all_read(request):
    count = services.notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect(safe_next_url(request, "/notifications/"))


@login_required
@require_POST
def notification_settings(request):
    form = NotificationSettingsForm(request.POST)
    form.is_valid()  # a single optional checkbox: always valid
    services.notification_settings_update(
        user=request.user, email_notifications=form.cleaned_data["email_notifications"]
    )
    if form.cleaned_data["email_notifications"] and not request.user.email:
        messages.warning(request, "E-mail is on, but your account has no e-mail address.")
    else:
        messages.success(request, "Notification settings saved.")
    return redirect("notifications:list")
