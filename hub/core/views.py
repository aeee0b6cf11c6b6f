from django.http import HttpResponse, JsonResponse
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
