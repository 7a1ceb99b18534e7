"""Service requests, their conversation and their audit trail.

Models hold data and invariants only. Every write that matters goes through
``tickets.services``, which validates, runs in one transaction and records an
``Event``; reads compose from the ``TicketQuerySet`` vocabulary.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from severity.choices import Category, Impact, Scope, Severity
from severity.sla import Phase
from tenants.models import Organization, User


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    AWAITING_CUSTOMER = "awaiting_customer", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")

    @classmethod
    def active(cls) -> tuple[str, ...]:
        """Statuses in which support still owes the customer something."""
        return (cls.NEW, cls.OPEN, cls.AWAITING_CUSTOMER)

    @classmethod
    def waiting_on_support(cls) -> tuple[str, ...]:
        """Statuses in which the response clock runs."""
        return (cls.NEW, cls.OPEN)

    @property
    def phase(self) -> Phase:
        """Who owes the next move, in the SLA engine's terms (``severity.sla``)."""
        if self in (Status.NEW, Status.OPEN):
            return Phase.SUPPORT
        if self == Status.AWAITING_CUSTOMER:
            return Phase.CUSTOMER
        return Phase.STOPPED


class Channel(models.TextChoices):
    WEB = "web", _("Portal")
    API = "api", _("API")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")


class Language(models.TextChoices):
    EN = "en", "English"
    PL = "pl", "Polski"


_REFERENCE_RE = re.compile(r"^(?:[A-Za-z]+-)?0*(\d{1,12})$")


def parse_reference(value: str | int) -> int | None:
    """``SR-000123``, ``000123`` or ``123`` → 123; anything else → None."""
    if isinstance(value, int):
        return value if value > 0 else None
    match = _REFERENCE_RE.match(value.strip())
    return int(match.group(1)) if match else None


class TicketQuerySet(models.QuerySet["Ticket"]):
    def for_org(self, organization: Organization) -> TicketQuerySet:
        return self.filter(organization=organization)

    def active(self) -> TicketQuerySet:
        return self.filter(status__in=Status.active())

    def waiting_on_support(self) -> TicketQuerySet:
        return self.filter(status__in=Status.waiting_on_support())

    def waiting_on_customer(self) -> TicketQuerySet:
        return self.filter(status=Status.AWAITING_CUSTOMER)

    def response_due_before(self, moment: datetime) -> TicketQuerySet:
        return self.waiting_on_support().filter(response_due_at__lte=moment)

    def customer_due_before(self, moment: datetime) -> TicketQuerySet:
        return self.waiting_on_customer().filter(customer_due_at__lte=moment)

    def assigned_to(self, user: User) -> TicketQuerySet:
        return self.filter(assignee=user)

    def unassigned(self) -> TicketQuerySet:
        return self.filter(assignee__isnull=True)

    def in_queue_order(self) -> TicketQuerySet:
        """The desk's order, page and API alike: tickets waiting on support by their
        response deadline (breached first), then those waiting on the customer by theirs,
        then the rest oldest first; read straight off the ``ticket_queue`` index."""
        return self.order_by(queue_bucket().asc(), queue_due().asc(), "id")

    def by_reference(self, reference: str | int) -> TicketQuerySet:
        number = parse_reference(reference)
        return self.filter(pk=number) if number is not None else self.none()


# The desk queue's order (issue 7): tickets waiting on support with a running response
# clock first, by deadline (so breached ones lead, most overdue first); then tickets
# waiting on the customer, by the customer's deadline; then tickets waiting on support
# with no running clock (first response met, no update cadence), oldest first. Both
# expressions are also the key of the partial index ``ticket_queue``, so PostgreSQL reads
# the top of the queue straight off the index; the two must stay identical.
_SUPPORT_CLOCK_RUNNING = Q(status__in=Status.waiting_on_support(), response_due_at__isnull=False)


def queue_bucket() -> Case:
    return Case(
        When(_SUPPORT_CLOCK_RUNNING, then=Value(0)),
        When(status=Status.AWAITING_CUSTOMER, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def queue_due() -> Case:
    return Case(
        When(_SUPPORT_CLOCK_RUNNING, then=F("response_due_at")),
        When(status=Status.AWAITING_CUSTOMER, then=F("customer_due_at")),
        default=F("created_at"),
        output_field=models.DateTimeField(),
    )


def ticket_reference(pk: int | None) -> str:
    """A request's reference as people quote it (SR-000123)."""
    prefix = settings.SUPPORTDESK.TICKET_PREFIX
    return f"{prefix}-{pk:06d}" if pk else f"{prefix}-new"


class Ticket(models.Model):
    """A service request of one organization.

    The human number is the primary key shown as ``SR-000123``: the database's own
    sequence makes it unique under any concurrency, and a rolled-back insert leaves a
    gap rather than a duplicate, which is what a support reference needs.
    """

    # No index of its own: (organization, status) and (organization, created) lead with it,
    # and every index on this hot table costs each sweep UPDATE.
    organization = models.ForeignKey(
        Organization,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("organization"),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=20_000)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    product = models.ForeignKey(
        "helpcenter.Service",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("product"),
    )
    impact = models.CharField(_("impact"), max_length=16, choices=Impact.choices)
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices)
    business_impact = models.TextField(_("business impact statement"), blank=True, max_length=5000)
    contact_24x7 = models.CharField(_("24x7 contact"), max_length=200, blank=True)

    severity = models.CharField(_("severity"), max_length=1, choices=Severity.choices)
    # The severity at opening, kept for reporting when an agent or a downgrade changes it.
    original_severity = models.CharField(
        _("original severity"), max_length=1, choices=Severity.choices
    )
    severity_reason = models.TextField(_("severity reason"), blank=True)

    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    contact_phone = PhoneNumberField(_("contact phone"), blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    preferred_contact = models.CharField(
        _("preferred contact method"),
        max_length=8,
        choices=ContactMethod.choices,
        default=ContactMethod.EMAIL,
    )
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    channel = models.CharField(
        _("channel"), max_length=8, choices=Channel.choices, default=Channel.WEB
    )
    caller_phone = PhoneNumberField(_("caller's phone"), blank=True)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_tickets",
        verbose_name=_("created by"),
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    # The SLA policy version the clocks measure against: the one in force for the
    # organization at filing, until a re-measure moves it (tickets.remeasure).
    sla_version = models.ForeignKey(
        "severity.SlaPolicyVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SLA policy version"),
    )
    # Filed by reopening this (closed) request: the customer's follow-up.
    follow_up_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("follow-up of"),
    )

    # SLA clocks, recomputed by tickets.clocks whenever status or severity changes.
    response_due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    customer_due_at = models.DateTimeField(_("customer reply due"), null=True, blank=True)
    # The workers' next steps on the response clock; None once taken (or not applicable).
    response_warning_at = models.DateTimeField(_("deadline warning"), null=True, blank=True)
    second_escalation_at = models.DateTimeField(_("second escalation"), null=True, blank=True)
    # The earliest instant at which the sweep has something to do for this ticket: the
    # one indexed column the sweep selects on, so catching up after an outage is one scan.
    next_action_at = models.DateTimeField(_("next SLA action"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    # The first-response deadline in force when the first response was given, kept for
    # the SLA compliance report (the response clock moves on to the update cadence).
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    last_agent_update_at = models.DateTimeField(_("last agent update"), null=True, blank=True)
    # Bumped on every clock change; a scheduled deadline task carries it and is a no-op
    # when the ticket has moved on.
    clock_version = models.PositiveIntegerField(default=0, editable=False)

    # No index of its own: per-organization lists use (organization, -created_at), and
    # every index on this row is paid again by each sweep UPDATE.
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        ordering = ("-created_at",)
        indexes = [
            # The queue and the sweep only ever look at active tickets: partial indexes
            # keep them small when the closed history grows to millions of rows.
            # The desk queue (issue 7): its order, breached and waiting-on-customer filters
            # are range scans of this one index. It replaces two single-column partial
            # indexes (response_due_at of new/open, customer_due_at of waiting) that only
            # the queue read; an active row sat in exactly one of them and sits in this one,
            # so a sweep UPDATE still writes one queue entry per active row, not two.
            models.Index(
                queue_bucket(),
                queue_due(),
                F("id"),
                name="ticket_queue",
                condition=Q(status__in=Status.active()),
                # The queue's counts, filters and search read these: carried in the index, they
                # are answered by index-only scans. They add width, not entries: an UPDATE
                # that is not HOT writes one entry per index either way.
                include=[
                    "title",
                    "severity",
                    "status",
                    "response_due_at",
                    "assignee",
                    "category",
                    "organization",
                    "product",
                    # The at-risk count and filter: the warning moment, stored or 75 %
                    # of the way from the clock's start (last update, else filing).
                    "response_warning_at",
                    "last_agent_update_at",
                    "created_at",
                ],
            ),
            # The queue narrowed to one severity (its cards are the page's first filter):
            # the same order and columns behind the severity, so the page's ids and its
            # counts read that severity's entries only, not every active ticket's
            # (bench/desk.py: 3.4 → 0.9 ms for the counts of a 2 % severity at 1M).
            models.Index(
                F("severity"),
                queue_bucket(),
                queue_due(),
                F("id"),
                name="ticket_queue_severity",
                condition=Q(status__in=Status.active()),
                include=[
                    "title",
                    "status",
                    "response_due_at",
                    "assignee",
                    "category",
                    "organization",
                    "product",
                    "response_warning_at",
                    "last_agent_update_at",
                    "created_at",
                ],
            ),
            models.Index(
                fields=["next_action_at"],
                name="ticket_next_action_active",
                condition=Q(status__in=Status.active()),
            ),
            models.Index(fields=["organization", "status"], name="ticket_org_status"),
            models.Index(fields=["organization", "-created_at"], name="ticket_org_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=["A", "B", "C"]), name="ticket_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in Status]), name="ticket_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return ticket_reference(self.pk)

    @property
    def is_active(self) -> bool:
        return self.status in Status.active()


class MessageKind(models.TextChoices):
    REPLY = "reply", _("Public reply")
    NOTE = "note", _("Internal note")


class AuthorRole(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Support")
    SYSTEM = "system", _("System")


class MessageQuerySet(models.QuerySet["Message"]):
    def public(self) -> MessageQuerySet:
        return self.filter(kind=MessageKind.REPLY)


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(_("kind"), max_length=8, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    author_role = models.CharField(_("author role"), max_length=10, choices=AuthorRole.choices)
    body = models.TextField(_("message"), max_length=20_000)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ("created_at", "pk")
        constraints = [
            # Customers never write internal notes.
            models.CheckConstraint(
                condition=~Q(kind="note", author_role="customer"), name="message_note_not_customer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"


class ActorKind(models.TextChoices):
    USER = "user", _("User")
    API_KEY = "api_key", _("API key")
    SYSTEM = "system", _("System")


class EventKind(models.TextChoices):
    CREATED = "created", _("Request filed")
    ASSIGNED = "assigned", _("Assigned")
    REPLIED = "replied", _("Support replied")
    NOTED = "noted", _("Internal note")
    INFORMATION_REQUESTED = "information_requested", _("Information requested")
    CUSTOMER_REPLIED = "customer_replied", _("Customer replied")
    RESOLVED = "resolved", _("Resolved")
    REOPENED = "reopened", _("Reopened")
    CLOSED = "closed", _("Closed")
    SEVERITY_CHANGED = "severity_changed", _("Severity changed")
    ESCALATED = "escalated", _("Escalated")
    WARNED = "warned", _("Deadline warning")
    DOWNGRADED = "downgraded", _("Severity lowered")
    REMINDED = "reminded", _("Customer reminded")
    RATED = "rated", _("Support rated")
    CONTACT_CHANGED = "contact_changed", _("Contact details changed")
    SLA_REMEASURED = "sla_remeasured", _("SLA re-measured")
    FOLLOW_UP = "follow_up", _("Follow-up filed")
    # The organization's, with no ticket: the retention purge removed closed requests
    # (their references in ``after``), so integrators can drop their copies.
    REQUESTS_PURGED = "requests_purged", _("Closed requests purged (retention)")


# What the customer's timeline shows (portal and API alike): the request's own story and
# the changes they made themselves. Assignment, internal notes and the workers' warnings
# and escalations are support's business.
CUSTOMER_EVENT_KINDS = (
    EventKind.CREATED,
    EventKind.REPLIED,
    EventKind.INFORMATION_REQUESTED,
    EventKind.CUSTOMER_REPLIED,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    EventKind.CLOSED,
    EventKind.SEVERITY_CHANGED,
    EventKind.DOWNGRADED,
    EventKind.REMINDED,
    EventKind.RATED,
    EventKind.CONTACT_CHANGED,
    EventKind.FOLLOW_UP,
)


class EventQuerySet(models.QuerySet["Event"]):
    def for_ticket(self, ticket: Ticket) -> EventQuerySet:
        return self.filter(ticket=ticket)

    def customer_visible(self) -> EventQuerySet:
        """The customer's timeline, oldest first."""
        return self.filter(kind__in=CUSTOMER_EVENT_KINDS).order_by("created_at", "pk")

    def undelivered(self) -> EventQuerySet:
        return self.filter(delivered_at__isnull=True)

    def sla_steps(self) -> EventQuerySet:
        """The steps the workers took on SLA clocks (warnings, escalations, downgrades,
        reminders), each at most once per lapse."""
        return self.filter(step_lapse_at__isnull=False)

    def escalations(self, level: int) -> EventQuerySet:
        return self.sla_steps().filter(kind=EventKind.ESCALATED, step_level=level)


class Event(models.Model):
    """One change, as the audit trail and the outbox of notifications.

    Written explicitly by the service that made the change (never by a signal), in the
    same transaction, so a change without its Event cannot exist.
    """

    # Events are read per ticket (the timeline) or undelivered (the outbox); both have
    # their own indexes, so this key and created_at carry none of their own: the sweep
    # writes an Event per step, and every index is paid on each insert.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    # Indexed by (ticket, created_at) below, which also serves lookups by ticket alone.
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="events",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=32, choices=EventKind.choices)
    actor_kind = models.CharField(_("actor kind"), max_length=8, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    # What the actor was called when it acted (a worker's name, an API key's prefix), kept
    # even if the user or key is later deleted.
    actor_label = models.CharField(_("actor"), max_length=200, blank=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # An SLA step the workers took (warning, escalation, downgrade, reminder): the level and
    # the deadline that lapsed. With the ticket and kind they are unique (the constraint
    # below), which is what makes a step happen once: a second worker, a re-delivered task
    # or a concurrent beat reaching the same lapse fails to insert its Event and does
    # nothing. The guard is the audit row itself, so a step costs one INSERT, not two.
    step_level = models.PositiveSmallIntegerField(_("SLA step level"), null=True, blank=True)
    step_lapse_at = models.DateTimeField(_("deadline that lapsed"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    # Outbox: notifications and webhooks for this event have all been handed over.
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ("created_at", "pk")
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_undelivered",
                condition=Q(delivered_at__isnull=True),
            ),
            models.Index(fields=["ticket", "created_at"], name="event_ticket_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "kind", "step_level", "step_lapse_at"],
                condition=Q(step_lapse_at__isnull=False),
                name="event_sla_step_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.actor_label})"


def attachment_path(instance: Attachment, filename: str) -> str:
    """Stored under the organization and ticket, with a random name: the original name is
    kept in the row only, so nothing the uploader typed reaches the file system."""
    import uuid

    return f"attachments/{instance.organization_id}/{instance.ticket_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file the customer attached to a request or to one of their replies.

    Written only by ``tickets.services``; read only through ``tickets.access``, which
    scopes it by the acting organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("message"),
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    # The type found by sniffing the content, not what the browser claimed.
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return self.original_name


class RatingSource(models.TextChoices):
    PORTAL = "portal", _("Portal")
    API = "api", _("API")
    SURVEY = "survey", _("E-mail survey")


class Rating(models.Model):
    """The customer's satisfaction rating of a resolved request (POL-ROLE-2): one per ticket."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rating")
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rated by"),
    )
    source = models.CharField(
        _("rated from"), max_length=8, choices=RatingSource.choices, default=RatingSource.PORTAL
    )
    created_at = models.DateTimeField(_("rated"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1) & Q(score__lte=5), name="rating_score_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.score}/5 on {self.ticket_id}"


class SavedView(models.Model):
    """An agent's named queue filter (issue 7): the filter form's query string, replayed
    through the same form, so a stale or edited value is ignored like any bad filter."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("agent"),
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("saved queue view")
        verbose_name_plural = _("saved queue views")
        ordering = ("name", "pk")
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class MacroQuerySet(models.QuerySet["Macro"]):
    def usable(self) -> MacroQuerySet:
        return self.filter(is_active=True)


class Macro(models.Model):
    """A canned reply in one language, kept by supervisors in the admin; agents insert it
    into the reply box and edit it before sending."""

    name = models.CharField(_("name"), max_length=100)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.EN
    )
    body = models.TextField(_("text"), max_length=10_000)
    is_active = models.BooleanField(_("in use"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = MacroQuerySet.as_manager()

    class Meta:
        verbose_name = _("macro (canned reply)")
        verbose_name_plural = _("macros (canned replies)")
        ordering = ("language", "position", "name")
        constraints = [
            models.UniqueConstraint(fields=["language", "name"], name="macro_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class OutgoingMailQuerySet(models.QuerySet["OutgoingMail"]):
    def for_ticket(self, ticket_id: int) -> OutgoingMailQuerySet:
        return self.filter(ticket_id=ticket_id)

    def ticket_for_message_ids(self, ids: list[str]) -> int | None:
        """The ticket of any of these Message-IDs (with angle brackets, as in the
        headers) that we sent; None when none is ours."""
        wanted = [value.strip() for value in ids if value and value.strip()]
        if not wanted:
            return None
        found = self.filter(message_id__in=wanted).order_by("-created_at", "-pk")
        return found.values_list("ticket_id", flat=True).first()


class OutgoingMail(models.Model):
    """One e-mail a ticket's Event sent, by its Message-ID: the chain later mails of the
    ticket answer (In-Reply-To, References) and what an incoming answer is matched
    against. Written by ``tickets.outbox`` with the Event's delivery; a retried delivery
    sends the same Message-ID and writes no second row."""

    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="outgoing_mails",
        verbose_name=_("service request"),
    )
    event = models.ForeignKey(
        Event,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("event"),
    )
    # The addresses it went to, lowercased and comma-separated (one for customer mail).
    recipient = models.CharField(_("recipient"), max_length=1000)
    # With its angle brackets, as in the header.
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    objects = OutgoingMailQuerySet.as_manager()

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        ordering = ("created_at", "pk")
        indexes = [models.Index(fields=["ticket", "created_at"], name="outgoing_mail_ticket_time")]

    def __str__(self) -> str:
        return self.message_id


class WorkerHeartbeat(models.Model):
    """When a periodic job last finished: the health check and the desk banner read it."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    last_run_at = models.DateTimeField(_("last run"))
    last_duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    acted = models.PositiveIntegerField(_("actions in last run"), default=0)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_run_at:%Y-%m-%d %H:%M:%S}"


class RemeasureKind(models.TextChoices):
    POLICY = "policy", _("New policy version")
    CALENDAR = "calendar", _("Calendar changed")
    ORGANIZATION = "organization", _("Organization's policy changed")


class RemeasureStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RemeasureJob(models.Model):
    """Open tickets re-measured after an SLA change (tickets.remeasure), in batches by a
    worker; the row is the progress bar and the record of what moved."""

    kind = models.CharField(_("kind"), max_length=16, choices=RemeasureKind.choices)
    # Policy and organization jobs move tickets onto this version; calendar jobs keep
    # each ticket's version and re-read the calendar.
    version = models.ForeignKey(
        "severity.SlaPolicyVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("policy version"),
    )
    calendar = models.ForeignKey(
        "severity.Calendar",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("calendar"),
    )
    calendar_revision = models.PositiveIntegerField(null=True, blank=True)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=RemeasureStatus.choices, default=RemeasureStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("tickets"), default=0)
    done = models.PositiveIntegerField(_("re-measured"), default=0)
    moved_earlier = models.PositiveIntegerField(_("moved earlier"), default=0)
    moved_later = models.PositiveIntegerField(_("moved later"), default=0)
    breached_now = models.PositiveIntegerField(_("breached at once"), default=0)
    # The last ticket id handled: a job resumed after a crash goes on from here.
    cursor = models.PositiveBigIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Moved on every batch: a running job that stops moving lost its worker.
    touched_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA re-measure")
        verbose_name_plural = _("SLA re-measures")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == RemeasureStatus.DONE or not self.total:
            return 100 if self.status == RemeasureStatus.DONE else 0
        return min(100, self.done * 100 // self.total)

    @property
    def finished(self) -> bool:
        return self.status in (RemeasureStatus.DONE, RemeasureStatus.FAILED)


class TicketSearch(models.Model):
    """A request's full-text document, one row per ticket (``tickets.search``).

    PostgreSQL only: database triggers (migration 0016) write it. A new ticket inserts its
    row; a message appends its words; a changed title, description or organization name
    rebuilds it. The hot ticket row is not touched: the sweep's UPDATEs never name the
    indexed columns, so the search costs them nothing. Public words (reference, title,
    organization, description, public replies) and internal notes are kept apart, so the
    customer's search never matches on a note. On SQLite the table stays empty and the
    search reads the tickets, messages and organizations themselves.
    """

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    # Indexed with the ticket below: an organization's newest matches first.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        db_index=False,
        related_name="+",
        verbose_name=_("organization"),
    )
    public = SearchVectorField(_("public words"), default="")
    internal = SearchVectorField(_("internal notes' words"), default="")

    class Meta:
        verbose_name = _("request search document")
        verbose_name_plural = _("request search documents")
        # The GIN index on the words is created by the migration (PostgreSQL only).
        indexes = [models.Index(fields=["organization", "ticket"], name="ticket_search_org")]

    def __str__(self) -> str:
        return f"search document of {self.ticket_id}"
