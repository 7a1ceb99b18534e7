"""The customer's REST API of service requests (``/api/v1/tickets/…``, ``severity/assess/``;
DESIGN.md "REST API").

Thin views: resolve the acting organization (``tenants.api_tenancy``) → reach the ticket
through ``tickets.access`` (another organization's number is 404) → validate with an
input serializer → call a service → render with an output serializer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from phonenumber_field.phonenumber import PhoneNumber
from rest_framework import filters, generics, serializers, status
from rest_framework.pagination import Cursor
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ErrorOut, error_body, error_responses
from core.pagination import TimeCursorPagination
from core.refusals import captured
from tenants.api_tenancy import ORGANIZATION_HEADER, ApiTenant, IsTenantAdmin, api_tenant
from tenants.idempotency import HEADER as IDEMPOTENCY_HEADER
from tenants.idempotency import KEY_PATTERN as IDEMPOTENCY_KEY_PATTERN
from tenants.idempotency import idempotent
from tickets import intake, services
from tickets import serializers as io
from tickets.access import (
    attachment_for_organization,
    attachments_for_organization,
    ticket_for_organization,
)
from tickets.actors import Actor
from tickets.api.common import (
    ATTACHMENT_ID,
    FILE_RESPONSES,
    NUMBER,
    REPLY_PARSERS,
    DownloadNegotiation,
    file_response,
)
from tickets.api.examples import (
    ASSESS_EXAMPLE,
    ASSESSED_EXAMPLE,
    ATTACHMENTS_EXAMPLE,
    CONTACT_CHANGE_EXAMPLE,
    CREATE_EXAMPLE,
    CUSTOMER_REPLY_EXAMPLE,
    CUSTOMER_UPLOAD_EXAMPLE,
    EVENTS_EXAMPLE,
    FOLLOW_UP_EXAMPLE,
    MESSAGE_EXAMPLE,
    RATED_EXAMPLE,
    RATING_EXAMPLE,
    REASON_EXAMPLE,
    REOPEN_EXAMPLE,
    SLA_EXAMPLE,
    TICKET_EXAMPLE,
)
from tickets.clocks import explain
from tickets.collision import ERR_STALE, StaleReply
from tickets.filters import RANK, RequestFilter, TenantFilterBackend, is_ranked
from tickets.intake import TicketDraft
from tickets.models import ActorKind, Attachment, Channel, Event, RatingSource, Ticket


def tenant_actor(tenant: ApiTenant) -> Actor:
    """An API key acts with its own kind and label; a signed-in admin as themselves."""
    return Actor(
        kind=ActorKind.API_KEY if tenant.key is not None else ActorKind.USER,
        user=tenant.user,
        label=tenant.label,
        role=tenant.role,
        organization_id=tenant.organization.pk,
    )


# --- Schema vocabulary ---------------------------------------------------------------------

ORGANIZATION = OpenApiParameter(
    ORGANIZATION_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=_(
        "Browser sessions only: the slug of the organization to act for, when the signed-in "
        "admin administers several. Ignored with an API key."
    ),
)
IDEMPOTENCY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    pattern=IDEMPOTENCY_KEY_PATTERN,
    description=_(
        "Any unique string (a UUID): a retry with the same key and body within 24 hours "
        "returns the first response instead of writing again; the same key with another "
        "body answers 422."
    ),
)
TENANT_TAGS = ["tickets"]


# --- Base views ----------------------------------------------------------------------------


class TenantView(APIView):
    """A customer endpoint: API key or signed-in admin, scoped to one organization."""

    permission_classes = (IsAuthenticated, IsTenantAdmin)

    @property
    def tenant(self) -> ApiTenant:
        return api_tenant(self.request)

    def actor(self) -> Actor:
        return tenant_actor(self.tenant)

    def ticket(self, number: str) -> Ticket:
        return ticket_for_organization(self.tenant.organization, number)

    def once(self, request: Request, handle: Any) -> Response:
        """Run a POST under its Idempotency-Key, if it sent one."""
        return idempotent(
            request, organization=self.tenant.organization, now=timezone.now(), handle=handle
        )

    def act(
        self,
        request: Request,
        number: str,
        parser: type[serializers.Serializer],
        change: Callable[[Ticket, dict[str, Any]], Any],
        present: Callable[[Any], Any],
        status_code: int = status.HTTP_200_OK,
    ) -> Response:
        """A POST that changes one request: find it (404 for another organization), honour
        the Idempotency-Key, parse the body with ``parser``, call the service through
        ``change`` (a refusal becomes the JSON error), answer ``present`` of its result."""
        ticket = self.ticket(number)

        def handle() -> Response:
            data = parser(data=request.data)
            data.is_valid(raise_exception=True)
            result = change(ticket, data.validated_data)
            return Response(present(result), status=status_code)

        return self.once(request, handle)


class TicketCursor(TimeCursorPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-created_at"

    def get_page_size(self, request: Request) -> int:
        """``page_size`` as the schema says: 1 to ``max_page_size``, else a 400 (DRF would
        quietly use the default, or the maximum)."""
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= self.max_page_size:
            raise serializers.ValidationError(
                {
                    self.page_size_query_param: [
                        _("A whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters

    # With ``q`` (and no ``ordering``) the list comes best match first: a rank is no column
    # a cursor can seek on, so the cursor then carries the offset into the ranking (at
    # most tickets.search.CANDIDATES long).
    ranked = False

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        if not is_ranked(queryset) or request.query_params.get("ordering"):
            return super().paginate_queryset(queryset, request, view)
        self.ranked = True
        self.request = request
        self.page_size = self.get_page_size(request) or TicketCursor.page_size
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        self.offset = self.cursor.offset if self.cursor else 0
        rows = list(queryset.order_by(RANK)[self.offset : self.offset + self.page_size + 1])
        self.has_next = len(rows) > self.page_size
        self.has_previous = self.offset > 0
        return rows[: self.page_size]

    def get_next_link(self) -> str | None:
        if not self.ranked:
            return super().get_next_link()
        if not self.has_next:
            return None
        return self.encode_cursor(Cursor(self.offset + self.page_size, False, None))

    def get_previous_link(self) -> str | None:
        if not self.ranked:
            return super().get_previous_link()
        if not self.has_previous:
            return None
        return self.encode_cursor(Cursor(max(0, self.offset - self.page_size), False, None))


# --- Tickets -------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="List the organization's requests",
        description=(
            "Newest first by default; filter by status, severity, category, product and "
            "created/updated ranges (`created_after`, `created_before`, …, ISO 8601). "
            "`q` searches the reference, title, description, public replies and the "
            "organization's name, closed requests included, best match first (unless "
            "`ordering` is given). Cursor pagination: follow `next`."
        ),
        tags=TENANT_TAGS,
        parameters=[ORGANIZATION],
        responses={200: io.TicketOut(many=True), **error_responses(400, 401, 403, 404, 429)},
        examples=[TICKET_EXAMPLE],
    ),
    post=extend_schema(
        summary="File a request",
        description=(
            "Validated and assessed like the portal's form: the severity comes from impact "
            "and scope, capped by category and contract; API keys file only the categories "
            "their role may."
        ),
        tags=TENANT_TAGS,
        parameters=[ORGANIZATION, IDEMPOTENCY],
        request=io.TicketCreateIn,
        responses={201: io.TicketOut, **error_responses(400, 401, 403, 413, 415, 422, 429)},
        examples=[CREATE_EXAMPLE, TICKET_EXAMPLE],
    ),
)
class TicketListCreate(TenantView, generics.GenericAPIView):
    serializer_class = io.TicketOut
    pagination_class = TicketCursor
    filter_backends = (TenantFilterBackend, filters.OrderingFilter)
    filterset_class = RequestFilter
    ordering_fields = ("created_at", "updated_at")
    ordering = ("-created_at",)

    def get_queryset(self) -> QuerySet[Ticket]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no tenant
            return Ticket.objects.none()
        return Ticket.objects.for_org(self.tenant.organization).select_related("product")

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the view pages (pagination_class)
        return self.get_paginated_response([io.ticket_data(ticket) for ticket in page])

    def post(self, request: Request) -> Response:
        return self.once(request, lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        data = io.TicketCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        # The field gives a checked PhoneNumber or "" (asking a number's truth formats it).
        phone = values.get("contact_phone")
        values["contact_phone"] = phone if isinstance(phone, PhoneNumber) else None
        ticket = services.ticket_create(
            organization=self.tenant.organization,
            actor=self.actor(),
            draft=TicketDraft(**values, channel=Channel.API),
            now=timezone.now(),
        )
        return Response(io.ticket_data(ticket), status=status.HTTP_201_CREATED)


class TicketDetailOut(io.TicketOut):
    latest_event = serializers.IntegerField(
        allow_null=True,
        help_text=_(
            "The id of the request's newest timeline entry: send it as `based_on_event` "
            "with a reply to have the reply held if support answered meanwhile."
        ),
    )


@extend_schema_view(
    get=extend_schema(
        summary="Read a request",
        tags=TENANT_TAGS,
        parameters=[NUMBER, ORGANIZATION],
        responses={200: TicketDetailOut, **error_responses(401, 403, 404, 429)},
        examples=[TICKET_EXAMPLE],
    ),
    patch=extend_schema(
        summary="Change a request's contact details",
        description=(
            "Only how support reaches you: contact phone and e-mail, preferred contact "
            "method, language (support needs accurate contact details for the life of the "
            "request). Title, description, category and impact stay as filed — the "
            "severity was assessed from them — so corrections go in a reply."
        ),
        tags=TENANT_TAGS,
        parameters=[NUMBER, ORGANIZATION],
        request=io.TicketContactIn,
        responses={200: io.TicketOut, **error_responses(400, 401, 403, 404, 409, 413, 415, 429)},
        examples=[
            CONTACT_CHANGE_EXAMPLE,
            TICKET_EXAMPLE,
        ],
    ),
)
class TicketDetail(TenantView):
    def get(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        data = io.ticket_data(ticket)
        data["latest_event"] = (
            ticket.events.customer_visible().order_by("-pk").values_list("pk", flat=True).first()
        )
        return Response(data)

    def patch(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        data = io.TicketContactIn(data=request.data)
        data.is_valid(raise_exception=True)
        changes = {
            field: (str(value) if value else "") if field == "contact_phone" else value
            for field, value in data.validated_data.items()
        }
        ticket = services.ticket_update_contact(
            ticket=ticket, actor=self.actor(), changes=changes, now=timezone.now()
        )
        return Response(io.ticket_data(ticket))


class CustomerStaleReplyOut(ErrorOut):
    # Only a held reply (`stale`) lists them; another refusal (`illegal_transition`) not.
    events = io.EventOut(
        many=True, required=False, help_text=_("What happened after `based_on_event`.")
    )


CUSTOMER_STALE_EXAMPLE = OpenApiExample(
    "stale",
    value={
        "code": "stale",
        "message": str(ERR_STALE),
        "fields": {},
        "events": [
            {
                "id": 4182,
                "kind": "replied",
                "actor": "support",
                "before": {"status": "open"},
                "after": {"status": "open"},
                "reason": "",
                "created_at": "2026-12-07T09:14:03Z",
            }
        ],
    },
    status_codes=["409"],
    response_only=True,
)


@extend_schema_view(
    get=extend_schema(
        summary="The public conversation",
        description="Public replies of support and the customer, oldest first; never notes.",
        tags=TENANT_TAGS,
        parameters=[NUMBER, ORGANIZATION],
        responses={200: io.MessageOut(many=True), **error_responses(401, 403, 404, 429)},
        examples=[MESSAGE_EXAMPLE],
    ),
    post=extend_schema(
        summary="Reply as the customer",
        description=(
            "Ends waiting on the customer; a reply to a resolved request "
            "reopens it within the reopen window. Send `multipart/form-data` to attach "
            "files (one `files` part each, the portal's limits and allow-list): they are "
            "checked before anything is written, and one refused file refuses the reply."
        ),
        tags=TENANT_TAGS,
        parameters=[NUMBER, ORGANIZATION, IDEMPOTENCY],
        request={
            "application/json": io.CustomerReplyIn,
            "multipart/form-data": io.MessageUploadIn,
        },
        responses={
            201: io.MessageOut,
            409: OpenApiResponse(
                CustomerStaleReplyOut,
                description=_(
                    "Refused: `stale` (newer activity since `based_on_event`, listed in "
                    "`events`), or the request is closed or past its reopen window (no "
                    "`events`)."
                ),
                examples=[CUSTOMER_STALE_EXAMPLE],
            ),
            **error_responses(400, 401, 403, 404, 413, 415, 422, 429),
        },
        examples=[
            CUSTOMER_REPLY_EXAMPLE,
            CUSTOMER_UPLOAD_EXAMPLE,
            MESSAGE_EXAMPLE,
        ],
    ),
)
class TicketMessages(TenantView):
    parser_classes = REPLY_PARSERS

    def get(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        messages = (
            ticket.messages.public()
            .select_related("author")
            .prefetch_related(Prefetch("attachments", Attachment.objects.order_by("pk")))
            .order_by("created_at", "pk")
        )
        return Response(io.MessageOut(messages, many=True).data)

    def post(self, request: Request, number: str) -> Response:
        # A held reply answers with what is new, which the shared error shape cannot
        # carry; raised through the Idempotency-Key's transaction, it leaves no record.
        with captured() as outcome:
            return self.act(
                request,
                number,
                io.MessageUploadIn,
                lambda ticket, data: services.ticket_customer_reply(
                    ticket=ticket,
                    actor=self.actor(),
                    body=data["body"],
                    attachments=data["files"],
                    now=timezone.now(),
                    seen_event_id=data.get("based_on_event"),
                ),
                lambda message: io.MessageOut(message).data,
                status.HTTP_201_CREATED,
            )
        refusal = outcome.refusal
        if isinstance(refusal, StaleReply):
            body = error_body(refusal.code, refusal.message)
            body["events"] = io.EventOut(refusal.events, many=True).data
            return Response(body, status=refusal.http_status)
        assert refusal is not None
        raise refusal


@extend_schema(
    summary="The request's files",
    description=(
        "Files of the request and of its public messages, oldest first; never an internal "
        "note's. Download one from `attachments/{attachment_id}/`."
    ),
    tags=TENANT_TAGS,
    parameters=[NUMBER, ORGANIZATION],
    responses={200: io.AttachmentOut(many=True), **error_responses(401, 403, 404, 429)},
    examples=[ATTACHMENTS_EXAMPLE],
)
class TicketAttachments(TenantView):
    def get(self, request: Request, number: str) -> Response:
        files = attachments_for_organization(self.tenant.organization, number)
        return Response(io.AttachmentOut(files, many=True).data)


@extend_schema(
    summary="Download a file",
    description=(
        "The file's bytes as a download, with the type found from its content. Another "
        "organization's file, another request's, or an internal note's answers 404."
    ),
    tags=TENANT_TAGS,
    parameters=[NUMBER, ATTACHMENT_ID, ORGANIZATION],
    responses={
        **FILE_RESPONSES,
        **error_responses(401, 403, 404, 429),
    },
)
class TicketAttachmentDownload(TenantView):
    content_negotiation_class = DownloadNegotiation

    def get(self, request: Request, number: str, attachment_id: int) -> HttpResponseBase:
        found = attachment_for_organization(self.tenant.organization, number, attachment_id)
        return file_response(found)


@extend_schema(
    summary="The request's timeline",
    description=(
        "What happened to the request, oldest first: filed, replies, status and severity "
        "changes with their reasons. Internal notes and support's internal steps are left out."
    ),
    tags=TENANT_TAGS,
    parameters=[NUMBER, ORGANIZATION],
    responses={200: io.EventOut(many=True), **error_responses(401, 403, 404, 429)},
    examples=[EVENTS_EXAMPLE],
)
class TicketEvents(TenantView):
    def get(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        events = Event.objects.for_ticket(ticket).customer_visible().select_related("actor_user")
        return Response(io.EventOut(events, many=True).data)


@extend_schema(
    summary="The SLA ledger",
    description=(
        "Which target applies on which calendar, since when the response clock counts, "
        "and how each stretch counted (running, paused while waiting on you, out of hours, "
        "holiday)."
    ),
    tags=TENANT_TAGS,
    parameters=[NUMBER, ORGANIZATION],
    responses={200: io.SlaOut, **error_responses(401, 403, 404, 429)},
    examples=[SLA_EXAMPLE],
)
class TicketSla(TenantView):
    def get(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        ledger = explain(ticket, now=timezone.now())
        return Response(
            io.SlaOut(
                {
                    "severity": ledger.severity,
                    "category": ledger.category,
                    "calendar": ledger.calendar,
                    "time_zone": ledger.time_zone,
                    "target_seconds": int(ledger.target.total_seconds()),
                    "measuring": ledger.measuring,
                    "clock_from": ledger.clock_from,
                    "due_at": ledger.due_at,
                    "customer_due_at": ledger.customer_due_at,
                    "used_seconds": int(ledger.used.total_seconds()),
                    "remaining_seconds": (
                        int(ledger.remaining.total_seconds())
                        if ledger.remaining is not None
                        else None
                    ),
                    "first_response_at": ledger.first_response_at,
                    "segments": [
                        {
                            "start": s.start,
                            "end": s.end,
                            "kind": s.kind,
                            "status": s.label,
                            "seconds": int(s.duration.total_seconds()),
                        }
                        for s in ledger.segments
                    ],
                }
            ).data
        )


@extend_schema(
    summary="Resolve a request",
    description="The customer's admins may mark their own request solved.",
    tags=TENANT_TAGS,
    parameters=[NUMBER, ORGANIZATION, IDEMPOTENCY],
    request=io.ReasonIn,
    responses={200: io.TicketOut, **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429)},
    examples=[REASON_EXAMPLE, TICKET_EXAMPLE],
)
class TicketResolve(TenantView):
    def post(self, request: Request, number: str) -> Response:
        return self.act(
            request,
            number,
            io.ReasonIn,
            lambda ticket, data: services.ticket_resolve(
                ticket=ticket, actor=self.actor(), reason=data["reason"], now=timezone.now()
            ),
            io.ticket_data,
        )


@extend_schema(
    summary="Reopen a resolved request",
    tags=TENANT_TAGS,
    parameters=[NUMBER, ORGANIZATION, IDEMPOTENCY],
    request=io.ReopenIn,
    responses={200: io.TicketOut, **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429)},
    examples=[
        REOPEN_EXAMPLE,
        TICKET_EXAMPLE,
    ],
)
class TicketReopen(TenantView):
    def post(self, request: Request, number: str) -> Response:
        return self.act(
            request,
            number,
            io.ReopenIn,
            lambda ticket, data: services.ticket_reopen(
                ticket=ticket, actor=self.actor(), reason=data["reason"], now=timezone.now()
            ),
            io.ticket_data,
        )


@extend_schema(
    summary="Rate the support received",
    description="Once per resolved request, 1 (poor) to 5 (excellent).",
    tags=TENANT_TAGS,
    parameters=[NUMBER, ORGANIZATION, IDEMPOTENCY],
    request=io.RatingIn,
    responses={
        201: io.RatingOut,
        **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
    },
    examples=[
        RATING_EXAMPLE,
        RATED_EXAMPLE,
    ],
)
class TicketRate(TenantView):
    def post(self, request: Request, number: str) -> Response:
        return self.act(
            request,
            number,
            io.RatingIn,
            lambda ticket, data: services.ticket_rate(
                ticket=ticket,
                actor=self.actor(),
                score=data["score"],
                comment=data["comment"],
                now=timezone.now(),
                source=RatingSource.API,
            ),
            lambda rating: io.RatingOut(rating).data,
            status.HTTP_201_CREATED,
        )


@extend_schema(
    summary="Follow up a closed request",
    description=(
        "Writing again about a request that is closed (or resolved longer ago than the "
        "reopen window) files a new request instead of reopening it: the closed one's "
        "category, product, impact, scope, contact details and language, your text as its "
        "description, its title `Follow-up to SR-000123: …`, assessed like any new "
        "request. The closed request's timeline records the follow-up. "
        "A request that can still be reopened answers 409: reply to it instead."
    ),
    tags=TENANT_TAGS,
    parameters=[NUMBER, ORGANIZATION, IDEMPOTENCY],
    request=io.MessageIn,
    responses={
        201: io.TicketOut,
        **error_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
    },
    examples=[FOLLOW_UP_EXAMPLE, TICKET_EXAMPLE],
)
class TicketFollowUp(TenantView):
    def post(self, request: Request, number: str) -> Response:
        return self.act(
            request,
            number,
            io.MessageIn,
            lambda ticket, data: services.ticket_follow_up(
                ticket=ticket,
                actor=self.actor(),
                body=data["body"],
                now=timezone.now(),
                channel=Channel.API,
            ),
            io.ticket_data,
            status.HTTP_201_CREATED,
        )


@extend_schema(
    summary="Preview a severity",
    description=(
        "What severity a request with these answers would get for this organization, and "
        "why; whether the caller's role may file it and the expected wait: the portal's "
        "live panel. Nothing is filed. The policy behind each reason is in its `policy` "
        "code."
    ),
    tags=["severity"],
    parameters=[ORGANIZATION],
    request=io.AssessIn,
    responses={200: io.AssessmentOut, **error_responses(400, 401, 403, 413, 415, 429)},
    examples=[
        ASSESS_EXAMPLE,
        ASSESSED_EXAMPLE,
    ],
)
class SeverityAssess(TenantView):
    def post(self, request: Request) -> Response:
        data = io.AssessIn(data=request.data)
        data.is_valid(raise_exception=True)
        answer = intake.preview(
            organization=self.tenant.organization,
            role=self.tenant.role,
            answers=data.validated_data,
            now=timezone.now(),
        )
        return Response(io.AssessmentOut(io.assessment_data(answer)).data)


__all__ = [
    "SeverityAssess",
    "TicketAttachmentDownload",
    "TicketAttachments",
    "TicketDetail",
    "TicketEvents",
    "TicketFollowUp",
    "TicketListCreate",
    "TicketMessages",
    "TicketRate",
    "TicketReopen",
    "TicketResolve",
    "TicketSla",
]
