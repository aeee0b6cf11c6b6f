"""The site's urls plus the bench baseline; used only by bench/settings.py."""

from django.urls import path

from hub.urls import urlpatterns as site_urlpatterns

from .bare_view import bare

urlpatterns = [path("bench/bare/", bare, name="bench_bare"), *site_urlpatterns]
