from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from .health import readiness


@never_cache
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def readyz(request):
    checks = readiness()
    down = {name: state for name, state in checks.items() if state != "ok"}
    return JsonResponse(
        {"status": "ready" if not down else "unavailable", "checks": checks},
        status=503 if down else 200,
    )


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links; send them to the site's icon
    (resolved per request: the hashed static name exists only after collectstatic)."""
    return HttpResponsePermanentRedirect(static("img/favicon.svg"))
