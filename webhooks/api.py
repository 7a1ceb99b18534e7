"""Webhook endpoints over the REST API (``/api/v1/webhooks/…``): register, list, switch
off, delete, read the delivery log, re-send. Global admins and their keys only
(POL-WHO-2 default: organization settings are a global admin's task)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import error_responses
from core.pagination import TimeCursorPagination
from core.serializers import StrictSerializer
from tenants.api_tenancy import ApiTenant, IsGlobalAdmin, IsTenantAdmin, api_tenant
from webhooks import services
from webhooks.models import (
    CircuitState,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)

TAGS = ["webhooks"]
ENDPOINT_ID = OpenApiParameter("endpoint_id", OpenApiTypes.INT, OpenApiParameter.PATH)
DELIVERY_ID = OpenApiParameter("delivery_id", OpenApiTypes.INT, OpenApiParameter.PATH)
MAX_ID = 2**63 - 1


class EndpointIn(StrictSerializer):
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        allow_empty=False,
        min_length=1,
        max_length=len(WebhookEventType.choices),
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class EndpointPatchIn(StrictSerializer):
    is_active = serializers.BooleanField()


class EndpointOut(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices)
    )
    circuit = serializers.ChoiceField(
        choices=CircuitState.choices,
        source="circuit_state",
        help_text=_(
            "The circuit breaker: closed (sent as usual), open (stopped after failures in "
            "a row: deliveries held until circuit_open_until), half_open (the next "
            "delivery is a trial). Switching the endpoint on (is_active true) closes it."
        ),
    )

    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = (
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "circuit",
            "consecutive_failures",
            "circuit_open_until",
            "created_at",
        )
        read_only_fields: tuple[str, ...] = fields


class EndpointCreatedOut(EndpointOut):
    secret = serializers.CharField(
        help_text=_("Signs every delivery (HMAC-SHA256). Shown only in this response.")
    )

    class Meta(EndpointOut.Meta):
        fields = (*EndpointOut.Meta.fields, "secret")
        read_only_fields = fields


class DeliveryOut(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    event_type = serializers.ChoiceField(choices=WebhookEventType.choices)
    payload = serializers.JSONField()

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_type",
            "status",
            "attempts",
            "last_response_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "updated_at",
            "delivered_at",
            "payload",
        )
        read_only_fields = fields


_ENDPOINT_EXAMPLE = {
    "id": 4,
    "url": "https://hooks.contoso.example/supportdesk",
    "description": "Ops chat",
    "event_types": ["ticket.created", "ticket.resolved"],
    "is_active": True,
    "circuit": "closed",
    "consecutive_failures": 0,
    "circuit_open_until": None,
    "created_at": "2026-06-10T10:00:00Z",
}
_DELIVERY_EXAMPLE = {
    "id": 91,
    "event_type": "ticket.created",
    "status": "delivered",
    "attempts": 1,
    "last_response_code": 200,
    "last_error": "",
    "next_attempt_at": None,
    "created_at": "2026-06-10T10:00:01Z",
    "updated_at": "2026-06-10T10:00:02Z",
    "delivered_at": "2026-06-10T10:00:02Z",
    "payload": {
        "id": "evt_812",
        "type": "ticket.created",
        "created_at": "2026-06-10T10:00:00Z",
        "organization": "contoso",
        "data": {"ticket": {"number": "SR-000123", "status": "new", "severity": "B"}},
    },
}


class WebhookView(APIView):
    permission_classes = (IsAuthenticated, IsTenantAdmin, IsGlobalAdmin)

    def endpoints(self) -> QuerySet[WebhookEndpoint]:
        return WebhookEndpoint.objects.for_org(api_tenant(self.request).organization)

    def endpoint(self, endpoint_id: int) -> WebhookEndpoint:
        """One of this organization's endpoints, or 404 (also another tenant's id)."""
        if not 0 < endpoint_id <= MAX_ID:
            raise Http404
        endpoint = self.endpoints().filter(pk=endpoint_id).first()
        if endpoint is None:
            raise Http404
        return endpoint


def _actor_label(tenant: ApiTenant) -> str | None:
    """An API key acts without a user: the audit trail names the key."""
    return None if tenant.user is not None else tenant.label


class DeliveryCursor(TimeCursorPagination):
    page_size = 50
    ordering = ("-created_at", "-pk")


@extend_schema_view(
    get=extend_schema(
        summary="List webhook endpoints",
        tags=TAGS,
        responses={200: EndpointOut(many=True), **error_responses(401, 403, 429)},
        examples=[OpenApiExample("endpoints", value=[_ENDPOINT_EXAMPLE], response_only=True)],
    ),
    post=extend_schema(
        summary="Register a webhook endpoint",
        description=(
            "An http(s) URL on a public address; an organization has at most "
            "WEBHOOK_MAX_ENDPOINTS endpoints (10 by default, else 409 `too_many_endpoints`) "
            "and registers a URL once (again: 409 `duplicate_url`). The response carries "
            "the signing secret, shown only this once."
        ),
        tags=TAGS,
        request=EndpointIn,
        responses={
            201: EndpointCreatedOut,
            **error_responses(400, 401, 403, 409, 413, 415, 429),
        },
        examples=[
            OpenApiExample(
                "register",
                value={
                    "url": "https://hooks.contoso.example/supportdesk",
                    "event_types": ["ticket.created", "ticket.resolved"],
                    "description": "Ops chat",
                },
                request_only=True,
            ),
            OpenApiExample(
                "registered",
                value={**_ENDPOINT_EXAMPLE, "secret": "whsec_9mA…"},
                response_only=True,
            ),
        ],
    ),
)
class EndpointList(WebhookView):
    def get(self, request: Request) -> Response:
        return Response(EndpointOut(self.endpoints(), many=True).data)

    def post(self, request: Request) -> Response:
        data = EndpointIn(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = api_tenant(request)
        registered = services.endpoint_create(
            organization=tenant.organization,
            url=data.validated_data["url"],
            event_types=data.validated_data["event_types"],
            description=data.validated_data["description"],
            created_by=tenant.user,
            now=timezone.now(),
            actor_label=_actor_label(tenant),
        )
        body = EndpointOut(registered.endpoint).data
        return Response({**body, "secret": registered.secret}, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        summary="Read a webhook endpoint",
        tags=TAGS,
        parameters=[ENDPOINT_ID],
        responses={200: EndpointOut, **error_responses(401, 403, 404, 429)},
        examples=[OpenApiExample("endpoint", value=_ENDPOINT_EXAMPLE, response_only=True)],
    ),
    patch=extend_schema(
        summary="Switch a webhook endpoint on or off",
        description=(
            "Switching it on also closes its circuit breaker: deliveries held after "
            "failures are sent again at once."
        ),
        tags=TAGS,
        parameters=[ENDPOINT_ID],
        request=EndpointPatchIn,
        responses={200: EndpointOut, **error_responses(400, 401, 403, 404, 413, 415, 429)},
        examples=[
            OpenApiExample("off", value={"is_active": False}, request_only=True),
            OpenApiExample(
                "switched off",
                value={**_ENDPOINT_EXAMPLE, "is_active": False},
                response_only=True,
            ),
        ],
    ),
    delete=extend_schema(
        summary="Delete a webhook endpoint",
        description="Its delivery log goes with it.",
        tags=TAGS,
        parameters=[ENDPOINT_ID],
        responses={204: None, **error_responses(401, 403, 404, 429)},
    ),
)
class EndpointDetail(WebhookView):
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(EndpointOut(self.endpoint(endpoint_id)).data)

    def patch(self, request: Request, endpoint_id: int) -> Response:
        endpoint = self.endpoint(endpoint_id)
        data = EndpointPatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = api_tenant(request)
        endpoint = services.endpoint_set_active(
            endpoint=endpoint,
            active=data.validated_data["is_active"],
            actor=tenant.user,
            actor_label=_actor_label(tenant),
        )
        return Response(EndpointOut(endpoint).data)

    def delete(self, request: Request, endpoint_id: int) -> Response:
        tenant = api_tenant(request)
        services.endpoint_delete(
            endpoint=self.endpoint(endpoint_id), actor=tenant.user, actor_label=_actor_label(tenant)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    summary="The delivery log of an endpoint",
    description="Newest first, with status, attempts and the last response code.",
    tags=TAGS,
    parameters=[ENDPOINT_ID],
    responses={200: DeliveryOut(many=True), **error_responses(401, 403, 404, 429)},
    examples=[OpenApiExample("log", value=[_DELIVERY_EXAMPLE], response_only=True)],
)
class DeliveryList(WebhookView):
    # Read by drf-spectacular to document the paginated answer.
    pagination_class = DeliveryCursor

    def get(self, request: Request, endpoint_id: int) -> Response:
        endpoint = self.endpoint(endpoint_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(endpoint.deliveries.all(), request, view=self)
        return paginator.get_paginated_response(DeliveryOut(page, many=True).data)


@extend_schema(
    summary="Re-send a delivery",
    description="Queues the same payload again, signed anew when sent.",
    tags=TAGS,
    parameters=[ENDPOINT_ID, DELIVERY_ID],
    request=None,
    responses={202: DeliveryOut, **error_responses(401, 403, 404, 409, 429)},
    examples=[
        OpenApiExample(
            "queued",
            value={**_DELIVERY_EXAMPLE, "status": "pending", "attempts": 0},
            status_codes=["202"],
            response_only=True,
        )
    ],
)
class DeliveryResend(WebhookView):
    def post(self, request: Request, endpoint_id: int, delivery_id: int) -> Response:
        endpoint = self.endpoint(endpoint_id)
        if not 0 < delivery_id <= MAX_ID:
            raise Http404
        delivery = endpoint.deliveries.select_related("endpoint").filter(pk=delivery_id).first()
        if delivery is None:
            raise Http404
        tenant = api_tenant(request)
        delivery = services.delivery_resend(
            delivery=delivery,
            now=timezone.now(),
            actor=tenant.user,
            actor_label=_actor_label(tenant),
        )
        return Response(DeliveryOut(delivery).data, status=status.HTTP_202_ACCEPTED)
