"""One error body for every failure: ``{"error": {"code", "message", "fields"}}``.

Services raise Django's ValidationError / PermissionDenied and hub.core's RateLimited; DRF
raises its own exceptions (authentication, throttling, parsing). All become the same shape.
"""

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

from hub.core.ratelimit import RateLimited
from hub.core.uploads import STORAGE_RETRY_AFTER_SECONDS, StorageUnavailable

logger = logging.getLogger(__name__)

DRF_CODES = {
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _flatten(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in _flatten(value)]
    return [str(detail)]


def _fields(detail) -> dict:
    """DRF's nested detail as {"field": ["message", ...]} (nested keys joined with dots)."""
    fields: dict[str, list[str]] = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list | tuple) and any(isinstance(v, dict | list) for v in value):
            for index, inner in enumerate(value):
                walk(f"{prefix}.{index}" if prefix else str(index), inner)
        else:
            fields.setdefault(prefix or api_settings.NON_FIELD_ERRORS_KEY, []).extend(
                _flatten(value)
            )

    walk("", detail)
    return fields


def _validation_response(detail) -> Response:
    fields = _fields(detail) if isinstance(detail, dict) else {}
    messages = _flatten(detail)
    if fields:
        message = "; ".join(
            f"{name}: {' '.join(msgs)}"
            if name != api_settings.NON_FIELD_ERRORS_KEY
            else " ".join(msgs)
            for name, msgs in fields.items()
        )
    else:
        message = " ".join(messages) or "Invalid input."
    return Response(
        error_body(code="validation_error", message=message, fields=fields),
        status=status.HTTP_400_BAD_REQUEST,
    )


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return _validation_response(detail)
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or "You are not allowed to do this."
        return Response(
            error_body(code="permission_denied", message=message), status=status.HTTP_403_FORBIDDEN
        )
    if isinstance(exc, RateLimited):
        return Response(
            error_body(code="rate_limited", message=str(exc)),
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, StorageUnavailable):
        return Response(
            error_body(code="storage_unavailable", message=str(exc)),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, Http404):
        return Response(
            error_body(code="not_found", message="Not found."), status=status.HTTP_404_NOT_FOUND
        )
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(exc.detail)
    if isinstance(exc, exceptions.APIException):
        code = next((name for klass, name in DRF_CODES.items() if isinstance(exc, klass)), "error")
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            wait = max(1, math.ceil(exc.wait))
            headers["Retry-After"] = str(wait)
            message = f"Too many requests: try again in {wait} seconds."
        else:
            message = " ".join(_flatten(exc.detail))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        return Response(
            error_body(code=code, message=message), status=exc.status_code, headers=headers
        )
    logger.exception("Unhandled API error", exc_info=exc)
    return Response(
        error_body(code="server_error", message="Something went wrong on our side."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


@csrf_exempt  # answers every method with JSON; a CSRF page here would be HTML
def api_not_found(request, *args, **kwargs):
    """Unknown paths under /api/v1/ answer in the API's error shape, not an HTML page."""
    return JsonResponse(
        error_body(code="not_found", message=f"No API endpoint at {request.path}."), status=404
    )
