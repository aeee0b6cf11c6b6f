"""The API's index, its OpenAPI schema and the Swagger UI docs."""

import threading

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView, _get_sidecar_url
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse

from ..base import ApiView

RESOURCE_URL_NAMES = {
    "questions": "api:question-list",
    "tags": "api:tag-list",
    "me": "api:user-me",
    "notifications": "api:notification-list",
    "glossary": "api:term-list",
    "lesson": "api:lesson-progress",
    "traces": "api:trace-list",
    "diagnoses": "api:diagnosis-list",
    "webhooks": "api:webhook-list",
    "schema": "api:schema",
    "docs": "api:docs",
}


class RootView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="List the API's resources",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="name -> URL")},
        tags=["meta"],
    )
    def get(self, request):
        return Response(
            {name: reverse(url, request=request) for name, url in RESOURCE_URL_NAMES.items()}
        )


# drf-spectacular loads its extension classes lazily, and two threads doing that at once can
# crash (one sets target_class to None while the other reads it). Schema requests are rare:
# one at a time.
_SCHEMA_LOCK = threading.Lock()


class SchemaView(SpectacularAPIView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        with _SCHEMA_LOCK:
            return super().get(request, *args, **kwargs)


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the vendored sidecar assets; its init script is a separate file, so it
    runs under our Content-Security-Policy (script-src 'self', no inline scripts)."""

    url_name = "api:schema"
    title = "GradHub API"
    template_name = "api/docs.html"

    @staticmethod
    def _swagger_ui_resource(filename):
        return _get_sidecar_url(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon():
        return _get_sidecar_url("swagger-ui-dist/favicon-32x32.png")
