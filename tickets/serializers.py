"""REST API shapes for service requests: input serializers validate, output serializers
render. No serializer writes anything; ``tickets.services`` does."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import serializers

from core.serializers import StrictSerializer, TextField
from helpcenter.models import Service
from severity.choices import Category, Impact, Scope, Severity
from tickets.intake import Preview
from tickets.models import (
    Attachment,
    AuthorRole,
    Channel,
    ContactMethod,
    Event,
    EventKind,
    Language,
    Message,
    MessageKind,
    Status,
    Ticket,
)
from tickets.reasons import event_reason


def _text(max_length: int, *, required: bool = True, **extra: Any) -> serializers.CharField:
    if not required:
        extra.setdefault("default", "")
    return TextField(
        max_length=max_length,
        required=required,
        allow_blank=not required,
        trim_whitespace=True,
        **extra,
    )


# What no pattern can say: the number must exist in its country's numbering plan.
PHONE_HELP = _(
    "A phone number that can be dialled, with its country code (+48 600 100 200); empty for none."
)


class TicketCreateIn(StrictSerializer):
    title = _text(200)
    description = _text(20_000)
    category = serializers.ChoiceField(choices=Category.choices)
    impact = serializers.ChoiceField(
        choices=Impact.choices, help_text=_("How badly the service is affected.")
    )
    scope = serializers.ChoiceField(choices=Scope.choices)
    product = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.active(),
        required=False,
        allow_null=True,
        default=None,
        help_text=_(
            "The service (product area) the request is about; see the services list. "
            "Required for a technical request."
        ),
    )
    business_impact = _text(5000, required=False, help_text=_("Needed for severity A."))
    contact_24x7 = _text(
        200, required=False, help_text=_("A contact reachable around the clock, for A.")
    )
    contact_phone = PhoneNumberField(
        required=False, allow_blank=True, default="", help_text=PHONE_HELP
    )
    contact_email = serializers.EmailField(
        max_length=254, required=False, allow_blank=True, default=""
    )
    preferred_contact = serializers.ChoiceField(
        choices=ContactMethod.choices, default=ContactMethod.EMAIL
    )
    language = serializers.ChoiceField(choices=Language.choices, default=Language.EN)


class TicketContactIn(StrictSerializer):
    """The fields a customer may change after filing: how support reaches them."""

    contact_phone = PhoneNumberField(required=False, allow_blank=True, help_text=PHONE_HELP)
    contact_email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    preferred_contact = serializers.ChoiceField(choices=ContactMethod.choices, required=False)
    language = serializers.ChoiceField(choices=Language.choices, required=False)


class AssessIn(StrictSerializer):
    category = serializers.ChoiceField(choices=Category.choices)
    impact = serializers.ChoiceField(choices=Impact.choices)
    scope = serializers.ChoiceField(choices=Scope.choices)
    business_impact = _text(5000, required=False)
    contact_24x7 = _text(200, required=False)


class ReasonOut(serializers.Serializer):
    code = serializers.CharField()
    policy = serializers.CharField(
        help_text=_("The policy the reason applies, as a stable machine code.")
    )
    message = serializers.CharField()


class ExpectedWaitOut(serializers.Serializer):
    respond_by = serializers.DateTimeField(
        help_text=_("The first-response target on the business calendar, counted from now.")
    )
    open_now = serializers.BooleanField(help_text=_("Is support's calendar in working hours?"))
    waiting = serializers.IntegerField(
        help_text=_("Requests of this severity still waiting for a first response.")
    )


class AssessmentOut(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    matrix_severity = serializers.ChoiceField(choices=Severity.choices)
    capped = serializers.BooleanField()
    reasons = ReasonOut(many=True)
    may_file = serializers.BooleanField(
        help_text=_("Whether the caller's role may file this category.")
    )
    refusal = serializers.CharField(
        allow_null=True, help_text=_("Why the role may not file it, when it may not.")
    )
    a_possible = serializers.BooleanField(
        help_text=_(
            "Severity A is within reach: it then needs a business-impact statement and a "
            "24x7 contact."
        )
    )
    expected_wait = ExpectedWaitOut(allow_null=True)


def assessment_data(answer: Preview) -> dict[str, Any]:
    """The live assessment as the API answers it: the portal's panel, in JSON."""
    outcome = answer.assessment
    assert outcome is not None  # AssessIn requires every answer the assessment reads
    wait = answer.wait
    return {
        "severity": outcome.severity.value,
        "matrix_severity": outcome.matrix_severity.value,
        "capped": outcome.capped,
        "reasons": [
            {"code": r.code, "policy": r.policy, "message": r.message} for r in outcome.reasons
        ],
        "may_file": answer.refusal is None,
        "refusal": answer.refusal.message if answer.refusal is not None else None,
        "a_possible": answer.a_possible,
        "expected_wait": (
            {"respond_by": wait.respond_by, "open_now": wait.open_now, "waiting": wait.waiting}
            if wait is not None
            else None
        ),
    }


class MessageIn(StrictSerializer):
    body = _text(20_000)


def _files() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        default=list,
        help_text=_(
            "Files to attach, one `files` part each: checked by name and content, never by "
            "the part's content type; one refused file refuses the whole message."
        ),
    )


class CustomerReplyIn(MessageIn):
    based_on_event = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2**62,
        help_text=_(
            "The `latest_event` of the request as you read it (`GET "
            "/api/v1/tickets/{number}/`). The reply is not sent when support answered, "
            "another admin replied or the status changed after it: 409 with code `stale` "
            "and the newer `events`. Leave it out to send regardless."
        ),
    )


class MessageUploadIn(CustomerReplyIn):
    """The reply as ``multipart/form-data``: the same fields, with files."""

    files = _files()


class AttachmentOut(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField(
        help_text=_("Found from the file's content, not from what the uploader claimed.")
    )
    message = serializers.IntegerField(
        source="message_id",
        allow_null=True,
        help_text=_("The message the file came with; null for a file of the request itself."),
    )

    class Meta:
        model = Attachment
        fields = ("id", "message", "name", "content_type", "size", "created_at")
        read_only_fields = fields


class ReasonIn(StrictSerializer):
    reason = _text(2000, required=False)


class ReopenIn(ReasonIn):
    """A customer reopening says what is still wrong: ``ticket_reopen`` refuses a blank
    reason with the same message in every channel, so it is checked there, and the schema
    requires it (``supportdesk.api_schema``)."""


class RatingIn(StrictSerializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = _text(2000, required=False)


class RatingOut(serializers.Serializer):
    score = serializers.IntegerField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


def ticket_url(ticket: Ticket) -> str:
    return settings.SITE_URL + reverse("api:ticket-detail", kwargs={"number": ticket.reference})


class TicketOut(serializers.Serializer):
    """A request as its organization sees it. Declared field by field rather than as a
    ModelSerializer: building fields from the model on every response was a third of the
    create endpoint's serializer time (bench/api.py)."""

    number = serializers.CharField(source="reference", help_text=_("e.g. SR-000123"))
    url = serializers.SerializerMethodField()
    title = serializers.CharField()
    description = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    product = serializers.CharField(source="product.slug", allow_null=True)
    impact = serializers.ChoiceField(choices=Impact.choices)
    scope = serializers.ChoiceField(choices=Scope.choices)
    business_impact = serializers.CharField()
    contact_24x7 = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    original_severity = serializers.ChoiceField(choices=Severity.choices)
    severity_reason = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    contact_phone = serializers.SerializerMethodField()
    contact_email = serializers.CharField()
    preferred_contact = serializers.ChoiceField(choices=ContactMethod.choices)
    language = serializers.ChoiceField(choices=Language.choices)
    assigned = serializers.SerializerMethodField(
        help_text=_("Whether a support agent has taken the request.")
    )
    response_due_at = serializers.DateTimeField(allow_null=True)
    customer_due_at = serializers.DateTimeField(allow_null=True)
    first_response_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)

    def get_contact_phone(self, ticket: Ticket) -> str:
        return str(ticket.contact_phone) if ticket.contact_phone else ""

    def get_assigned(self, ticket: Ticket) -> bool:
        return ticket.assignee_id is not None

    def get_url(self, ticket: Ticket) -> str:
        return ticket_url(ticket)


class DeskTicketOut(TicketOut):
    """What support sees in addition: the organization, the assignee, escalation."""

    organization = serializers.CharField(source="organization.slug")
    assignee = serializers.SerializerMethodField()
    escalation_level = serializers.IntegerField()

    def get_assignee(self, ticket: Ticket) -> str | None:
        return ticket.assignee.email if ticket.assignee is not None else None


_DATETIME = serializers.DateTimeField()


def _when(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def ticket_data(ticket: Ticket) -> dict[str, Any]:
    """``TicketOut(ticket).data`` without instantiating a serializer (its fields are deep
    copied per instance): the hot path of every ticket response. Documented by, and
    tested equal to, ``TicketOut``."""
    return {
        "number": ticket.reference,
        "url": ticket_url(ticket),
        "title": ticket.title,
        "description": ticket.description,
        "category": ticket.category,
        "product": ticket.product.slug if ticket.product is not None else None,
        "impact": ticket.impact,
        "scope": ticket.scope,
        "business_impact": ticket.business_impact,
        "contact_24x7": ticket.contact_24x7,
        "severity": ticket.severity,
        "original_severity": ticket.original_severity,
        "severity_reason": ticket.severity_reason,
        "status": ticket.status,
        "channel": ticket.channel,
        # Formatted once: a number's truth is its formatted length (a second formatting).
        "contact_phone": "" if ticket.contact_phone is None else str(ticket.contact_phone),
        "contact_email": ticket.contact_email,
        "preferred_contact": ticket.preferred_contact,
        "language": ticket.language,
        "assigned": ticket.assignee_id is not None,
        "response_due_at": _when(ticket.response_due_at),
        "customer_due_at": _when(ticket.customer_due_at),
        "first_response_at": _when(ticket.first_response_at),
        "created_at": _when(ticket.created_at),
        "updated_at": _when(ticket.updated_at),
        "resolved_at": _when(ticket.resolved_at),
        "closed_at": _when(ticket.closed_at),
    }


def desk_ticket_data(ticket: Ticket) -> dict[str, Any]:
    """``DeskTicketOut(ticket).data``, the same way."""
    return {
        **ticket_data(ticket),
        "organization": ticket.organization.slug,
        "assignee": ticket.assignee.email if ticket.assignee is not None else None,
        "escalation_level": ticket.escalation_level,
    }


class MessageOut(serializers.ModelSerializer):
    author_role = serializers.ChoiceField(choices=AuthorRole.choices)
    author = serializers.SerializerMethodField(
        help_text=_("The customer's name, or the agent's first name; empty for the system.")
    )
    kind = serializers.ChoiceField(choices=MessageKind.choices)
    attachments = AttachmentOut(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ("id", "kind", "author_role", "author", "body", "attachments", "created_at")
        read_only_fields = fields

    def get_author(self, message: Message) -> str:
        if message.author is None:
            return ""
        if message.author_role == AuthorRole.AGENT:
            return message.author.get_short_name()  # staff are named by first name only
        return message.author.get_full_name()


# The Events a customer sees on the timeline: no internal notes, assignments or the
# workers' internal steps (warnings, escalations).
_SHARED_KEYS = (
    "status",
    "severity",
    "contact_phone",
    "contact_email",
    "preferred_contact",
    "language",
    "score",
)
# Whose words a reason is on these kinds: shown to the customer as written.
_KINDS_WITH_REASON = (
    EventKind.CREATED,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    EventKind.SEVERITY_CHANGED,
    EventKind.DOWNGRADED,
    EventKind.REMINDED,
)


class EventOut(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=EventKind.choices)
    actor = serializers.SerializerMethodField(
        help_text=_("support, system, or the customer's own admin or API key")
    )
    before = serializers.SerializerMethodField()
    after = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ("id", "kind", "actor", "before", "after", "reason", "created_at")
        read_only_fields = fields

    def get_actor(self, event: Event) -> str:
        if event.actor_kind == "system":
            return "system"
        if event.actor_user is not None and event.actor_user.is_agent:
            return "support"
        return event.actor_label

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_before(self, event: Event) -> dict[str, Any]:
        return {k: v for k, v in event.before.items() if k in _SHARED_KEYS}

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_after(self, event: Event) -> dict[str, Any]:
        return {k: v for k, v in event.after.items() if k in _SHARED_KEYS}

    def get_reason(self, event: Event) -> str:
        # In the caller's language and without policy ids; the codes are in ``after``.
        return event_reason(event) if event.kind in _KINDS_WITH_REASON else ""


class SegmentOut(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    kind = serializers.CharField(
        help_text="running | paused | out_of_hours | holiday | met | stopped"
    )
    status = serializers.CharField()
    seconds = serializers.IntegerField()


class SlaOut(serializers.Serializer):
    severity = serializers.CharField()
    category = serializers.CharField()
    calendar = serializers.CharField()
    time_zone = serializers.CharField()
    target_seconds = serializers.IntegerField()
    measuring = serializers.CharField(allow_null=True)
    clock_from = serializers.DateTimeField()
    due_at = serializers.DateTimeField(allow_null=True)
    customer_due_at = serializers.DateTimeField(allow_null=True)
    used_seconds = serializers.IntegerField()
    remaining_seconds = serializers.IntegerField(allow_null=True)
    first_response_at = serializers.DateTimeField(allow_null=True)
    segments = SegmentOut(many=True)


class DeskReplyKind(models.TextChoices):
    REPLY = "reply", _("Public reply")
    NOTE = "note", _("Internal note")
    REQUEST_INFORMATION = "request_information", _("Ask the customer for information")


class DeskReplyIn(StrictSerializer):
    kind = serializers.ChoiceField(choices=DeskReplyKind.choices, default=DeskReplyKind.REPLY)
    body = _text(20_000)
    based_on_event = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=2**62,
        help_text=_(
            "The `latest_event` of the request as you read it (`GET "
            "/api/v1/desk/tickets/{number}/`). A reply or request for information is not "
            "sent when the customer, another agent or a status change came after it: 409 "
            "with code `stale` and the newer `events`. Leave it out to send regardless; "
            "notes ignore it."
        ),
    )


class DeskReplyUploadIn(DeskReplyIn):
    """The answer as ``multipart/form-data``: the same fields, with files."""

    files = _files()


class DeskAssignIn(StrictSerializer):
    assignee = serializers.EmailField(
        allow_null=True, help_text=_("An agent's e-mail; null to unassign.")
    )
