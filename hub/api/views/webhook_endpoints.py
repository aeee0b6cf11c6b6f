"""The authenticated user's webhook endpoints and their deliveries."""

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.response import Response

from .. import serializers as s
from .. import services, webhooks
from ..base import ApiView
from ..models import EVENT_PING, WebhookEndpoint
from ..permissions import IsAuthenticated, TokenHasScope
from ..selectors import webhook_delivery_list, webhook_endpoint_list_for_user
from .common import CURSOR_PARAMS, paginated_response, validated_input


def _endpoint_or_404(request, endpoint_id: int) -> WebhookEndpoint:
    endpoint = webhook_endpoint_list_for_user(user=request.user).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise Http404
    return endpoint


class WebhookListView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(
        summary="Your webhook endpoints",
        operation_id="webhooks_list",
        parameters=CURSOR_PARAMS,
        responses={200: paginated_response(s.WebhookEndpointSerializer)},
        tags=["webhooks"],
    )
    def get(self, request):
        return self.paginated(
            webhook_endpoint_list_for_user(user=request.user), s.WebhookEndpointSerializer
        )

    @extend_schema(
        summary="Add a webhook endpoint (the signing secret is in this response only)",
        request=s.WebhookEndpointInputSerializer,
        responses={201: s.WebhookEndpointCreatedSerializer},
        examples=[
            OpenApiExample(
                "CI hook",
                value={"url": "https://ci.example.com/gradhub", "events": ["diagnosis.ready"]},
                request_only=True,
            )
        ],
        tags=["webhooks"],
    )
    def post(self, request):
        data = validated_input(s.WebhookEndpointInputSerializer, request)
        endpoint, secret = services.webhook_endpoint_create(
            user=request.user, url=data["url"], events=data["events"]
        )
        endpoint.secret = secret
        return Response(s.WebhookEndpointCreatedSerializer(endpoint).data, status=201)


class WebhookDetailView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="One webhook endpoint",
        responses={200: s.WebhookEndpointSerializer},
        tags=["webhooks"],
    )
    def get(self, request, endpoint_id: int):
        return Response(s.WebhookEndpointSerializer(_endpoint_or_404(request, endpoint_id)).data)

    @extend_schema(
        summary="Pause, resume or change the events of an endpoint",
        request=s.WebhookEndpointEditInputSerializer,
        responses={200: s.WebhookEndpointSerializer},
        tags=["webhooks"],
    )
    def patch(self, request, endpoint_id: int):
        endpoint = _endpoint_or_404(request, endpoint_id)
        data = validated_input(s.WebhookEndpointEditInputSerializer, request)
        endpoint = services.webhook_endpoint_update(
            user=request.user,
            endpoint=endpoint,
            is_active=data.get("is_active"),
            events=data.get("events"),
        )
        return Response(s.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Delete an endpoint and its delivery log",
        responses={204: OpenApiResponse(description="Deleted.")},
        tags=["webhooks"],
    )
    def delete(self, request, endpoint_id: int):
        services.webhook_endpoint_delete(
            user=request.user, endpoint=_endpoint_or_404(request, endpoint_id)
        )
        return Response(status=204)


class WebhookDeliveryListView(ApiView):
    pagination_class = None  # the latest deliveries only
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="The latest deliveries to an endpoint, with every attempt",
        responses={200: s.WebhookDeliverySerializer(many=True)},
        tags=["webhooks"],
    )
    def get(self, request, endpoint_id: int):
        deliveries = webhook_delivery_list(endpoint=_endpoint_or_404(request, endpoint_id))
        return Response(s.WebhookDeliverySerializer(deliveries, many=True).data)


class WebhookPingView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="Send a test `ping` delivery to an endpoint",
        request=None,
        responses={202: s.WebhookDeliverySerializer},
        tags=["webhooks"],
    )
    def post(self, request, endpoint_id: int):
        endpoint = _endpoint_or_404(request, endpoint_id)
        delivery = webhooks.webhook_delivery_enqueue(
            endpoint=endpoint, event=EVENT_PING, payload={"endpoint_id": endpoint.pk}
        )
        return Response(s.WebhookDeliverySerializer(delivery).data, status=202)
