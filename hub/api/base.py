"""The base every API view extends: authentication, scopes, throttles, errors, JSON only."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from .authentication import AccessTokenAuthentication, SessionAuthentication
from .exceptions import api_exception_handler
from .pagination import ApiCursorPagination
from .permissions import IsAuthenticatedOrReadOnly, TokenHasScope
from .serializers import ErrorSerializer
from .throttling import DEFAULT_THROTTLES

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: the error body names the fields and says why.",
    "401": "Not authenticated, or the token is invalid, expired or revoked.",
    "403": "Not allowed: the token lacks a scope or the action is not permitted.",
    "404": "Not found (or not visible to you).",
    "415": "Unsupported request content type.",
    "429": "Too many requests: see the Retry-After header.",
}


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """The API speaks JSON whatever the Accept header asks for: no 406 surprises."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ApiAutoSchema(AutoSchema):
    """Documents the shared error responses on every operation.

    Overrides drf-spectacular's `_get_response_bodies` (pinned at 0.30): `@extend_schema`
    replaces `get_response_serializers`, so that public hook cannot add them."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in ERROR_DESCRIPTIONS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description),
                    code,
                    direction=direction,
                )
        return responses


class ApiView(GenericAPIView):
    authentication_classes = [AccessTokenAuthentication, SessionAuthentication]
    permission_classes = [TokenHasScope, IsAuthenticatedOrReadOnly]
    throttle_classes = DEFAULT_THROTTLES
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    content_negotiation_class = JSONOnlyNegotiation
    pagination_class = ApiCursorPagination
    schema = ApiAutoSchema()
    metadata_class = None  # OPTIONS answers 405 like any method a view does not offer

    def get_exception_handler(self):
        return api_exception_handler

    def paginated(self, queryset, serializer_class):
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)
