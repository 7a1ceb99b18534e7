"""The desk's REST API (``/api/v1/desk/…``): the queue and one request as support sees it,
claiming, assigning and answering, for agents (agent token or session)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import ApiError, ErrorOut, error_body, error_responses
from core.refusals import captured
from severity.choices import Severity
from tenants.api_tenancy import IsAgent, request_agent
from tenants.models import User
from tickets import serializers as io
from tickets import services
from tickets.access import attachment_for_desk, attachments_for_desk, ticket_for_desk
from tickets.actors import Actor, actor_name
from tickets.api.common import (
    ATTACHMENT_ID,
    FILE_RESPONSES,
    NUMBER,
    REPLY_PARSERS,
    DownloadNegotiation,
    file_response,
)
from tickets.api.examples import (
    ATTACHMENTS_EXAMPLE,
    DESK_REPLY_EXAMPLE,
    DESK_TICKET_EXAMPLE,
    DESK_UPLOAD_EXAMPLE,
    HAND_OVER_EXAMPLE,
    MESSAGE_EXAMPLE,
)
from tickets.collision import ERR_STALE, StaleReply
from tickets.models import Event, Ticket

DESK_TAGS = ["desk"]


class DeskView(APIView):
    permission_classes = (IsAgent,)

    @property
    def agent(self) -> User:
        return request_agent(self.request)

    def actor(self) -> Actor:
        return Actor.for_user(self.agent)

    def ticket(self, number: str) -> Ticket:
        return ticket_for_desk(self.agent, number)


class DeskQueueQuery(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    mine = serializers.BooleanField(default=False)
    unassigned = serializers.BooleanField(default=False)
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)


@extend_schema(
    summary="The desk queue",
    description=(
        "Active requests of every organization in the desk's order: waiting on support by "
        "the response deadline (breached first, most overdue first), then waiting on the "
        "customer by their deadline, then the rest oldest first."
    ),
    tags=DESK_TAGS,
    parameters=[DeskQueueQuery],
    responses={200: io.DeskTicketOut(many=True), **error_responses(400, 401, 404, 429)},
    examples=[DESK_TICKET_EXAMPLE],
)
class DeskQueue(DeskView):
    def get(self, request: Request) -> Response:
        query = DeskQueueQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        tickets = Ticket.objects.active()
        if values.get("severity"):
            tickets = tickets.filter(severity=values["severity"])
        if values["mine"]:
            tickets = tickets.assigned_to(self.agent)
        if values["unassigned"]:
            tickets = tickets.unassigned()
        # The desk page's order (``in_queue_order``): ids off the index, then their rows.
        ids = list(tickets.in_queue_order().values_list("pk", flat=True)[: values["limit"]])
        found = {
            t.pk: t
            for t in Ticket.objects.filter(pk__in=ids)
            .order_by()
            .select_related("organization", "product", "assignee")
        }
        return Response([io.desk_ticket_data(found[pk]) for pk in ids if pk in found])


class DeskTicketDetailOut(io.DeskTicketOut):
    latest_event = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "The id of the request's newest Event: send it as `based_on_event` with a reply "
            "to have the reply held if anything new happened meanwhile."
        ),
    )


@extend_schema(
    summary="A request, as support sees it",
    tags=DESK_TAGS,
    parameters=[NUMBER],
    responses={200: DeskTicketDetailOut, **error_responses(401, 404, 429)},
    examples=[DESK_TICKET_EXAMPLE],
)
class DeskTicket(DeskView):
    def get(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        data = io.desk_ticket_data(ticket)
        data["latest_event"] = ticket.events.order_by("-pk").values_list("pk", flat=True).first()
        return Response(data)


@extend_schema(
    summary="Claim a request",
    description="Assign the request to yourself.",
    tags=DESK_TAGS,
    parameters=[NUMBER],
    request=None,
    responses={200: io.DeskTicketOut, **error_responses(400, 401, 403, 404, 409, 429)},
    examples=[DESK_TICKET_EXAMPLE],
)
class DeskClaim(DeskView):
    def post(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        ticket = services.ticket_assign(
            ticket=ticket, actor=self.actor(), assignee=self.agent, now=timezone.now()
        )
        return Response(io.desk_ticket_data(ticket))


@extend_schema(
    summary="Assign or unassign a request",
    description="Agents may release their own requests; supervisors assign to anyone.",
    tags=DESK_TAGS,
    parameters=[NUMBER],
    request=io.DeskAssignIn,
    responses={
        200: io.DeskTicketOut,
        **error_responses(400, 401, 403, 404, 409, 413, 415, 429),
    },
    examples=[
        HAND_OVER_EXAMPLE,
        DESK_TICKET_EXAMPLE,
    ],
)
class DeskAssign(DeskView):
    def post(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        data = io.DeskAssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["assignee"]
        assignee = None
        if email is not None:
            assignee = User.objects.agents().filter(email__iexact=email).first()
            if assignee is None:
                raise ApiError(
                    services.ERR_ASSIGNEE_NOT_AGENT,
                    code="invalid",
                    http_status=status.HTTP_400_BAD_REQUEST,
                    field="assignee",
                )
        ticket = services.ticket_assign(
            ticket=ticket, actor=self.actor(), assignee=assignee, now=timezone.now()
        )
        return Response(io.desk_ticket_data(ticket))


_DESK_REPLY = {
    "reply": services.ticket_agent_reply,
    "note": services.ticket_internal_note,
    "request_information": services.ticket_request_information,
}


class DeskEventOut(serializers.ModelSerializer):
    """An Event as support reads it in a held reply's answer."""

    actor = serializers.SerializerMethodField(
        help_text='Who acted: a name, or "Automatic SLA check" for the workers.'
    )
    message = serializers.SerializerMethodField(help_text="The message it wrote, if any.")

    class Meta:
        model = Event
        fields = ("id", "kind", "actor_kind", "actor", "message", "created_at")
        read_only_fields = fields

    def get_actor(self, event: Event) -> str:
        return actor_name(event)

    def get_message(self, event: Event) -> int | None:
        message = (event.after or {}).get("message")
        return message if isinstance(message, int) else None


class StaleReplyOut(ErrorOut):
    # Only a held reply (`stale`) lists them; another refusal (`illegal_transition`) not.
    events = DeskEventOut(
        many=True, required=False, help_text="What happened after `based_on_event`."
    )


STALE_EXAMPLE = OpenApiExample(
    "stale",
    value={
        "code": "stale",
        "message": str(ERR_STALE),
        "fields": {},
        "events": [
            {
                "id": 4182,
                "kind": "customer_replied",
                "actor_kind": "user",
                "actor": "Jan Kowalski",
                "message": 977,
                "created_at": "2026-12-07T09:14:03Z",
            }
        ],
    },
    status_codes=["409"],
    response_only=True,
)


@extend_schema(
    summary="Answer a request",
    description=(
        "A public reply (the first one meets the first-response target, POL-SLA-1), an "
        "internal note, or a request for information, which makes the request wait on "
        "the customer (POL-SEV-7). Send `multipart/form-data` to attach files (one `files` "
        "part each): a reply's reach the customer through the portal, a note's stay "
        "with support; one refused file refuses the message."
    ),
    tags=DESK_TAGS,
    parameters=[NUMBER],
    request={
        "application/json": io.DeskReplyIn,
        "multipart/form-data": io.DeskReplyUploadIn,
    },
    responses={
        201: io.MessageOut,
        409: OpenApiResponse(
            StaleReplyOut,
            description=(
                "Refused: `stale` (newer activity since `based_on_event`, listed in "
                "`events`), or an illegal transition (`illegal_transition`, no `events`)."
            ),
            examples=[STALE_EXAMPLE],
        ),
        **error_responses(400, 401, 403, 404, 413, 415, 429),
    },
    examples=[
        DESK_REPLY_EXAMPLE,
        DESK_UPLOAD_EXAMPLE,
        MESSAGE_EXAMPLE,
    ],
)
class DeskReply(DeskView):
    parser_classes = REPLY_PARSERS

    def post(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        data = io.DeskReplyUploadIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        kind = values["kind"]
        extra: dict[str, Any] = {}
        if kind != io.DeskReplyKind.NOTE:
            extra["seen_event_id"] = values.get("based_on_event")
        # A held reply answers with what is new, which the shared error shape cannot carry.
        with captured() as outcome:
            message = _DESK_REPLY[kind](
                ticket=ticket,
                actor=self.actor(),
                body=values["body"],
                attachments=values["files"],
                now=timezone.now(),
                **extra,
            )
            return Response(io.MessageOut(message).data, status=status.HTTP_201_CREATED)
        refusal = outcome.refusal
        if isinstance(refusal, StaleReply):
            body = error_body(refusal.code, refusal.message)
            body["events"] = DeskEventOut(refusal.events, many=True).data
            return Response(body, status=refusal.http_status)
        assert refusal is not None
        raise refusal


@extend_schema(
    summary="A request's files",
    description=(
        "Every file of the request, oldest first: the customer's, support's replies' and "
        "internal notes' (`message` names the message)."
    ),
    tags=DESK_TAGS,
    parameters=[NUMBER],
    responses={200: io.AttachmentOut(many=True), **error_responses(401, 404, 429)},
    examples=[ATTACHMENTS_EXAMPLE],
)
class DeskAttachments(DeskView):
    def get(self, request: Request, number: str) -> Response:
        files = attachments_for_desk(self.agent, number)
        return Response(io.AttachmentOut(files, many=True).data)


@extend_schema(
    summary="Download a request's file",
    description="The file's bytes as a download, with the type found from its content.",
    tags=DESK_TAGS,
    parameters=[NUMBER, ATTACHMENT_ID],
    responses={
        **FILE_RESPONSES,
        **error_responses(401, 404, 429),
    },
)
class DeskAttachmentDownload(DeskView):
    content_negotiation_class = DownloadNegotiation

    def get(self, request: Request, number: str, attachment_id: int) -> HttpResponseBase:
        return file_response(attachment_for_desk(self.agent, number, attachment_id))


__all__ = [
    "DeskAssign",
    "DeskAttachmentDownload",
    "DeskAttachments",
    "DeskClaim",
    "DeskQueue",
    "DeskReply",
    "DeskTicket",
]
