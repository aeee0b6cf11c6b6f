"""People's settings pages for API tokens and webhooks; included at /settings/ by hub/urls.py."""

from django.urls import path
from django.views.generic import RedirectView

from . import web_views

app_name = "api_web"

urlpatterns = [
    # /settings/ itself is where people look first; the tokens page is the settings page.
    path("", RedirectView.as_view(pattern_name="api_web:settings"), name="settings_index"),
    path("tokens/", web_views.settings_page, name="settings"),
    path("tokens/new/", web_views.token_create, name="token_create"),
    path("tokens/<int:token_id>/revoke/", web_views.token_revoke, name="token_revoke"),
    path("webhooks/new/", web_views.webhook_create, name="webhook_create"),
    path("webhooks/<int:endpoint_id>/", web_views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:endpoint_id>/toggle/", web_views.webhook_toggle, name="webhook_toggle"),
    path("webhooks/<int:endpoint_id>/delete/", web_views.webhook_delete, name="webhook_delete"),
    path("webhooks/<int:endpoint_id>/ping/", web_views.webhook_ping, name="webhook_ping"),
]
