from django.contrib import admin
from django.urls import include, path

from hub.core import views as core_views
from hub.traces import views as trace_views

urlpatterns = [
    path("", trace_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("accounts/", include("hub.accounts.urls")),
    path("glossary/", include("hub.glossary.urls")),
    path("traces/", include("hub.traces.urls")),
    path("api/v1/", include("hub.api.urls")),
    path("settings/", include("hub.api.web_urls")),
    path("admin/", admin.site.urls),
    path("notifications/", include("hub.notifications.urls")),
    path("moderation/", include("hub.moderation.urls")),
    # Asking composes the forum and the trace pipeline, so the traces app serves it.
    path("questions/ask/", trace_views.question_ask, name="ask"),
    path("", include("hub.learn.urls")),
    path("", include("hub.forum.urls")),
]

handler400 = "hub.core.web.bad_request"

# No /media/ route, in any mode: MEDIA_ROOT holds private trace files and plots, served only
# through the permission-checked views of hub/traces/views.py.
