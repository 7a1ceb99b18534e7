"""Reads of the agent desk (issue 7) and the reports (issue 15): the queue, the
supervisors' reports and a customer organization's own service report.

Every function here runs a fixed number of queries whatever the number of tickets, and
does its counting in the database; medians and percentiles of durations are taken in
Python over one query's rows, as SQLite has no percentile function. The queue reads only
active tickets through the partial index ``ticket_queue`` (see
``tickets.models.queue_bucket``), so its cost follows the ~2 % of tickets that are
active, not the closed history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from fractions import Fraction
from typing import Any, Protocol

from django.db import models
from django.db.models import (
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Trunc
from django.db.models.lookups import GreaterThanOrEqual
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext_lazy as _

from core import names
from severity.choices import Category, Severity
from tenants.models import Organization, StaffRole, User
from tickets.models import (
    AuthorRole,
    Event,
    EventKind,
    Message,
    MessageKind,
    Rating,
    Status,
    Ticket,
    TicketQuerySet,
    parse_reference,
    queue_bucket,
    queue_due,
    ticket_reference,
)

QUEUE_PAGE_SIZE = 50

# The queue's status filter for every request, resolved and closed ones too.
STATUS_ANY = "all"

# Queue buckets (tickets.models.queue_bucket).
BUCKET_SUPPORT_CLOCK = 0
BUCKET_WAITING_ON_CUSTOMER = 1


class ResponseClock(Protocol):
    """What the response clock's state is worked out from: a ticket, or a queue row."""

    @property
    def response_due_at(self) -> datetime | None: ...
    @property
    def response_warning_at(self) -> datetime | None: ...
    @property
    def last_agent_update_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class QueueTicket:
    """One row of the queue: the ticket's columns the row shows, and the names it shows
    from the related rows, read as one tuple per row. The queue and its live fragment are
    the desk's hot path (bench/desk.py): fifty model instances with four related ones
    each were a fifth of the fragment's time."""

    pk: int
    title: str
    severity: str
    status: str
    category: str
    escalation_level: int
    assignee_id: int | None
    response_due_at: datetime | None
    response_warning_at: datetime | None
    customer_due_at: datetime | None
    last_agent_update_at: datetime | None
    created_at: datetime
    contact_email: str
    contact_phone: str
    organization_name: str
    product_name: str | None
    assignee_name: str | None
    assignee_email: str | None
    # The customer who filed it; None when an agent filed it for a caller or nobody did.
    requester_name: str | None
    customer_replied: bool

    @property
    def reference(self) -> str:
        return ticket_reference(self.pk)


# The columns a QueueTicket is read from, in its fields' order (customer_replied, an
# annotation, comes last).
_QUEUE_ROW_COLUMNS = (
    "pk",
    "title",
    "severity",
    "status",
    "category",
    "escalation_level",
    "assignee_id",
    "response_due_at",
    "response_warning_at",
    "customer_due_at",
    "last_agent_update_at",
    "created_at",
    "contact_email",
    "contact_phone",
    "organization__name",
    "product__name",
    "assignee__full_name",
    "assignee__email",
    "created_by__full_name",
    "created_by__email",
    "created_by__staff_role",
    "created_by__is_active",
    "customer_replied",
)


@dataclass(frozen=True, slots=True)
class QueueFilters:
    """What an agent narrowed the queue to; every field is already validated."""

    severity: str = ""
    category: str = ""
    product_id: int | None = None
    organization_id: int | None = None
    status: str = ""
    # "me", "none" (unassigned), or an agent's id as text; "" for anyone.
    assignee: str = ""
    breached: bool = False
    # At risk: the response clock is past its warning moment, not yet its deadline.
    at_risk: bool = False
    waiting: bool = False
    q: str = ""
    # Drill-down from the reports: requests filed in [filed_from, filed_until), by the
    # severity they were filed with; ``status="all"`` takes in resolved and closed ones.
    filed_from: datetime | None = None
    filed_until: datetime | None = None
    original_severity: str = ""
    # Requests with a breach (or a downgrade) in [from, until), as the trend counts them.
    breached_from: datetime | None = None
    breached_until: datetime | None = None
    downgraded_from: datetime | None = None
    downgraded_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class SeverityCount:
    severity: str
    label: str
    total: int
    breached: int
    # Past the warning moment, before the deadline (amber); never also counted breached.
    at_risk: int = 0


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[QueueTicket]
    total: int
    page: int
    pages: int
    counts: list[SeverityCount]

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return (self.page - 1) * QUEUE_PAGE_SIZE + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * QUEUE_PAGE_SIZE + len(self.rows)


def _queue_base(filters: QueueFilters, *, user: User, now: datetime) -> TicketQuerySet:
    """Active tickets narrowed by every filter the agent chose."""
    # One status condition, not "active AND this status": the planner multiplies the two
    # as if independent and then expects a handful of rows where there are thousands.
    if filters.status in Status.active():
        tickets = Ticket.objects.filter(status=filters.status)
    elif filters.status == STATUS_ANY:
        tickets = Ticket.objects.all()
    else:
        tickets = Ticket.objects.active()
    if filters.filed_from is not None:
        tickets = tickets.filter(created_at__gte=filters.filed_from)
    if filters.filed_until is not None:
        tickets = tickets.filter(created_at__lt=filters.filed_until)
    if filters.original_severity:
        tickets = tickets.filter(original_severity=filters.original_severity)
    for kind, start, end in (
        (TREND_BREACH, filters.breached_from, filters.breached_until),
        (TREND_DOWNGRADE, filters.downgraded_from, filters.downgraded_until),
    ):
        if start is not None or end is not None:
            steps = Event.objects.filter(kind, step_lapse_at__isnull=False)
            if start is not None:
                steps = steps.filter(created_at__gte=start)
            if end is not None:
                steps = steps.filter(created_at__lt=end)
            tickets = tickets.filter(pk__in=steps.values("ticket_id"))
    if filters.severity:
        tickets = tickets.filter(severity=filters.severity)
    if filters.category:
        tickets = tickets.filter(category=filters.category)
    if filters.product_id is not None:
        tickets = tickets.filter(product_id=filters.product_id)
    if filters.organization_id is not None:
        tickets = tickets.filter(organization_id=filters.organization_id)
    if filters.assignee == "me":
        tickets = tickets.assigned_to(user)
    elif filters.assignee == "none":
        tickets = tickets.unassigned()
    elif filters.assignee:
        tickets = tickets.filter(assignee_id=int(filters.assignee))
    if filters.breached or filters.waiting:
        # Written with the index's own expressions, so both are range scans of it.
        bucketed = tickets.alias(queue_bucket=queue_bucket(), queue_due=queue_due())
        if filters.breached:
            bucketed = bucketed.filter(queue_bucket=BUCKET_SUPPORT_CLOCK, queue_due__lte=now)
        if filters.waiting:
            bucketed = bucketed.filter(queue_bucket=BUCKET_WAITING_ON_CUSTOMER)
        tickets = bucketed
    if filters.at_risk:
        tickets = tickets.filter(at_risk(now))
    if filters.q:
        tickets = tickets.filter(_search(filters.q))
    return tickets


def at_risk(now: datetime) -> Q:
    """``response_clock_state`` is ``at_risk``, as a condition: the response clock runs,
    its deadline is still ahead, and its warning moment (stored, else ``AT_RISK_SHARE``
    of the way from the clock's start to the deadline) has passed. The share is written
    as whole multiples of durations (3 × span ≤ 4 × elapsed), which both databases
    compute."""
    start = Coalesce(F("last_agent_update_at"), F("created_at"))
    elapsed = ExpressionWrapper(Value(now) - start, output_field=DurationField())
    span = ExpressionWrapper(F("response_due_at") - start, output_field=DurationField())
    share, whole = Fraction(AT_RISK_SHARE).limit_denominator(100).as_integer_ratio()
    past_share = GreaterThanOrEqual(
        ExpressionWrapper(elapsed * whole, output_field=DurationField()),
        ExpressionWrapper(span * share, output_field=DurationField()),
    )
    return Q(
        status__in=Status.waiting_on_support(),
        response_due_at__isnull=False,
        response_due_at__gt=now,
    ) & (Q(response_warning_at__lte=now) | (Q(response_warning_at__isnull=True) & Q(past_share)))


def _search(text: str) -> Q:
    """A reference (SR-000123, 123), or words in the title or the organization's name."""
    # The organizations as a subquery, not a join: the ticket side stays one table scan
    # of the active rows whatever the planner thinks of the match's selectivity.
    organizations = Organization.objects.filter(name__icontains=text).values("pk")
    match = Q(title__icontains=text) | Q(organization_id__in=organizations)
    number = parse_reference(text)
    if number is not None:
        match |= Q(pk=number)
    return match


def queue_counts(tickets: TicketQuerySet, *, now: datetime) -> list[SeverityCount]:
    """Per severity, how many of ``tickets`` there are, how many breached and how many
    are at risk: one query (grouped by severity, both counted conditionally) over the
    filtered queue, so the cards say what the list below them holds. Every column it
    reads is carried in the ``ticket_queue`` index, so PostgreSQL answers it with an
    index-only scan."""
    lapsed = Q(
        status__in=Status.waiting_on_support(),
        response_due_at__isnull=False,
        response_due_at__lte=now,
    )
    grouped = dict.fromkeys(Severity.values, (0, 0, 0))
    for severity, total, breached, amber in (
        tickets.order_by()
        .values_list("severity")
        .annotate(
            total=Count("*"),
            breached=Count("id", filter=lapsed),
            amber=Count("id", filter=at_risk(now)),
        )
        .values_list("severity", "total", "breached", "amber")
    ):
        grouped[severity] = (total, breached, amber)
    return [
        SeverityCount(s.value, str(s.label), *grouped.get(s.value, (0, 0, 0))) for s in Severity
    ]


def queue_page(filters: QueueFilters, *, user: User, now: datetime, page: int = 1) -> QueuePage:
    """One page of the queue, most urgent first, and the counts per severity of the same
    filtered tickets: three queries (counts, the page's ids, its rows), or two when the
    first page holds every ticket the filters leave (Mine, one organization …): those
    rows are then counted as they are drawn, with no count query."""
    tickets = _queue_base(filters, user=user, now=now)
    ordered = tickets.in_queue_order().values_list("pk", flat=True)
    # Two steps: the page's ids straight off the ordered index (no joins to mislead the
    # planner), then those rows with what they show.
    first: list[int] | None = None
    if page <= 1:
        # One more than a page: whether the first page holds the whole queue.
        first = list(ordered[: QUEUE_PAGE_SIZE + 1])
        if len(first) <= QUEUE_PAGE_SIZE:
            rows = _queue_rows(first)
            return QueuePage(
                rows=rows, total=len(rows), page=1, pages=1, counts=_counted(rows, now=now)
            )
    counts = queue_counts(tickets, now=now)
    total = sum(c.total for c in counts)
    pages = max(1, -(-total // QUEUE_PAGE_SIZE))
    page = min(max(page, 1), pages)
    if page == 1 and first is not None:
        ids = first[:QUEUE_PAGE_SIZE]
    else:
        offset = (page - 1) * QUEUE_PAGE_SIZE
        ids = list(ordered[offset : offset + QUEUE_PAGE_SIZE])
    return QueuePage(rows=_queue_rows(ids), total=total, page=page, pages=pages, counts=counts)


def _queue_rows(ids: list[int]) -> list[QueueTicket]:
    """The queue's rows of ``ids``, in that order (one query)."""
    # "Customer replied": a public reply from the customer newer than support's last
    # update (or than the filing, before support's first one). Asked per row of the page
    # only, by the message table's ticket index.
    customer_replied = Exists(
        Message.objects.filter(
            ticket_id=OuterRef("pk"),
            kind=MessageKind.REPLY,
            author_role=AuthorRole.CUSTOMER,
            created_at__gt=Coalesce(OuterRef("last_agent_update_at"), OuterRef("created_at")),
        )
    )
    found: dict[int, QueueTicket] = {}
    for values in (
        Ticket.objects.filter(pk__in=ids)
        .order_by()
        .annotate(customer_replied=customer_replied)
        .values_list(*_QUEUE_ROW_COLUMNS)
    ):
        found[values[0]] = _queue_ticket(values)
    return [found[pk] for pk in ids if pk in found]


def _counted(rows: Sequence[QueueTicket], *, now: datetime) -> list[SeverityCount]:
    """queue_counts of a queue that is all in ``rows``: breached and at risk as the
    count query decides them (the response clock runs while support owes the next step;
    response_clock_state places its deadline and warning moment)."""
    tally = {s.value: [0, 0, 0] for s in Severity}
    support = Status.waiting_on_support()
    for row in rows:
        counts = tally.setdefault(row.severity, [0, 0, 0])
        counts[0] += 1
        if row.status in support and row.response_due_at is not None:
            state = response_clock_state(row, now)
            counts[1] += state == CLOCK_BREACHED
            counts[2] += state == CLOCK_AT_RISK
    return [SeverityCount(s.value, str(s.label), *tally[s.value]) for s in Severity]


def _queue_ticket(values: tuple[Any, ...]) -> QueueTicket:
    (
        pk,
        title,
        severity,
        status,
        category,
        escalation_level,
        assignee_id,
        response_due_at,
        response_warning_at,
        customer_due_at,
        last_agent_update_at,
        created_at,
        contact_email,
        contact_phone,
        organization_name,
        product,
        assignee_name,
        assignee_email,
        author_name,
        author_email,
        author_role,
        author_active,
        replied,
    ) = values
    # Who asked: the customer who filed it; an agent filing on a caller's behalf is not
    # the requester (the row then names the contact). As User.is_agent decides.
    staff = author_active and author_role in {StaffRole.AGENT, StaffRole.SUPERVISOR}
    requester = None if author_email is None or staff else (author_name or author_email)
    return QueueTicket(
        pk=pk,
        title=title,
        severity=severity,
        status=status,
        category=category,
        escalation_level=escalation_level,
        assignee_id=assignee_id,
        response_due_at=response_due_at,
        response_warning_at=response_warning_at,
        customer_due_at=customer_due_at,
        last_agent_update_at=last_agent_update_at,
        created_at=created_at,
        contact_email=contact_email,
        contact_phone=str(contact_phone or ""),
        organization_name=organization_name,
        product_name=names.product_name(product) if product is not None else None,
        assignee_name=assignee_name,
        assignee_email=assignee_email,
        requester_name=requester,
        customer_replied=bool(replied),
    )


# The response clock's states as the queue draws them (issue 16): at risk (amber) from
# the warning moment, breached (red) from the deadline.
CLOCK_OK = "ok"
CLOCK_AT_RISK = "at_risk"
CLOCK_BREACHED = "breached"
# Without a stored warning moment (the workers clear it once the warning is sent), the
# warning falls at this share of the time between the clock's start and the deadline:
# the default SLA terms' 75 % (severity.sla.WARNING_SHARE).
AT_RISK_SHARE = 0.75


def response_warning_moment(ticket: ResponseClock) -> datetime | None:
    """When the running response clock turns amber: the stored warning moment, else 75 %
    of the way from the clock's start (support's last update, or the filing) to the
    deadline, in calendar time."""
    due = ticket.response_due_at
    if due is None:
        return None
    if ticket.response_warning_at is not None:
        return ticket.response_warning_at
    start = ticket.last_agent_update_at or ticket.created_at
    if start >= due:
        return due
    return start + (due - start) * AT_RISK_SHARE


def response_clock_state(ticket: ResponseClock, now: datetime) -> str:
    """``breached`` from the deadline on, ``at_risk`` from the warning moment until then,
    else ``ok``; only meaningful while the response clock runs (a deadline is set)."""
    due = ticket.response_due_at
    if due is None:
        return CLOCK_OK
    if due <= now:
        return CLOCK_BREACHED
    warning = response_warning_moment(ticket)
    if warning is not None and warning <= now:
        return CLOCK_AT_RISK
    return CLOCK_OK


# --- Reports (supervisors) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """Whole days ``start``..``end`` (both included) read in ``zone``."""

    start: date
    end: date
    zone: tzinfo

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=self.zone)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=self.zone)


class FirstResponse(models.TextChoices):
    """Where a request stands against its first-response deadline (POL-SLA-1).

    ``MET`` and ``LATE``/``OVERDUE`` count in the percentage; a request still inside its
    deadline is ``PENDING`` (shown, not counted: it can still go either way); one resolved
    or closed without any response never had a response owed that anyone measured, so it
    is ``NOT_NEEDED`` and counted apart. ``UNMEASURED`` are requests answered before the
    deadline in force was kept on the row: there is nothing to compare them with."""

    MET = "met", _("Met")
    LATE = "late", _("Answered late")
    OVERDUE = "overdue", _("Unanswered past the deadline")
    PENDING = "pending", _("Not yet due")
    NOT_NEEDED = "not_needed", _("Closed without a response")
    UNMEASURED = "unmeasured", _("No deadline recorded")


def first_response_conditions(now: datetime) -> dict[str, Q]:
    """The outcomes as conditions on a ticket row, mutually exclusive and together
    covering every row. ``response_due_at`` is the first-response deadline for as long as
    ``first_response_at`` is empty and the request is active (``tickets.clocks``), so an
    unanswered request counts as missed the moment that deadline passes, not when someone
    finally answers it."""
    answered = Q(first_response_at__isnull=False)
    unanswered = Q(first_response_at__isnull=True)
    measured = answered & Q(first_response_due_at__isnull=False)
    active = unanswered & Q(status__in=Status.active())
    overdue = Q(response_due_at__lte=now)
    return {
        FirstResponse.MET: measured & Q(first_response_at__lte=F("first_response_due_at")),
        FirstResponse.LATE: measured & Q(first_response_at__gt=F("first_response_due_at")),
        FirstResponse.OVERDUE: active & overdue,
        FirstResponse.PENDING: active
        & (Q(response_due_at__isnull=True) | Q(response_due_at__gt=now)),
        FirstResponse.NOT_NEEDED: unanswered & ~Q(status__in=Status.active()),
        FirstResponse.UNMEASURED: answered & Q(first_response_due_at__isnull=True),
    }


def first_response_outcome(now: datetime) -> Case:
    """The outcome as one expression, to group or read rows by (``FirstResponse``)."""
    return Case(
        *(
            When(condition, then=Value(str(key)))
            for key, condition in first_response_conditions(now).items()
        ),
        default=Value(FirstResponse.UNMEASURED.value),
        output_field=models.CharField(),
    )


@dataclass(slots=True)
class ComplianceRow:
    """First-response outcomes of the requests filed in a period, for one group."""

    key: str
    label: str
    met: int = 0
    late: int = 0
    overdue: int = 0
    pending: int = 0
    not_needed: int = 0
    unmeasured: int = 0

    def add(self, outcome: str, count: int) -> None:
        setattr(self, outcome, getattr(self, outcome) + count)

    @property
    def missed(self) -> int:
        """Answered late, or not answered and already past the deadline."""
        return self.late + self.overdue

    @property
    def total(self) -> int:
        """The requests the percentage is of: met or missed."""
        return self.met + self.missed

    @property
    def filed(self) -> int:
        return self.total + self.pending + self.not_needed + self.unmeasured

    @property
    def percent(self) -> float | None:
        return 100.0 * self.met / self.total if self.total else None


UNASSIGNED = "none"


@dataclass(frozen=True, slots=True)
class Compliance:
    """First-response compliance of the requests filed in the period (POL-SLA-1): by the
    severity they were filed with and by their severity now (a request lowered from A to
    C after it was answered within A's hour is a met A, and a met C), by category, by
    organization (lowest first) and by assignee (``UNASSIGNED`` last)."""

    by_original_severity: list[ComplianceRow]
    by_severity: list[ComplianceRow]
    by_category: list[ComplianceRow]
    by_organization: list[ComplianceRow]
    by_agent: list[ComplianceRow]
    overall: ComplianceRow


def _agent_label(full_name: str | None, email: str | None) -> str:
    return full_name or email or ""


def _names(organization_ids: set[int], user_ids: set[int]) -> tuple[dict[int, str], dict[int, str]]:
    """The organizations' and agents' names, in one query (a UNION of the two tables).

    The reports group and read rows by ids and look the names up here afterwards:
    grouping a year of requests by the names' text as well took three times as long on
    PostgreSQL (300,000 requests: 1.5 s against 0.5 s)."""
    if not organization_ids and not user_ids:
        return {}, {}
    organizations = (
        Organization.objects.filter(pk__in=organization_ids)
        .order_by()
        .annotate(table=Value("o"), email=Value(""))
        .values_list("table", "pk", "name", "email")
    )
    users = (
        User.objects.filter(pk__in=user_ids)
        .order_by()
        .annotate(table=Value("u"))
        .values_list("table", "pk", "full_name", "email")
    )
    found: dict[str, dict[int, str]] = {"o": {}, "u": {}}
    for table, pk, name, email in organizations.union(users, all=True):
        found[table][pk] = _agent_label(name, email) if table == "u" else name
    return found["o"], found["u"]


def sla_compliance(period: Period, *, now: datetime) -> Compliance:
    """Two queries: one grouped with a count per outcome, whose rows the breakdowns sum
    (at most severities² × categories × organizations × agents, and never more than the
    requests filed), and the names of the organizations and agents in it."""
    counts = {
        str(key): Count("id", filter=condition)
        for key, condition in first_response_conditions(now).items()
    }
    groups = ("original_severity", "severity", "category", "organization_id", "assignee_id")
    rows = list(
        Ticket.objects.filter(created_at__gte=period.start_at, created_at__lt=period.end_at)
        .order_by()
        .values_list(*groups)
        .annotate(**counts)
        .values_list(*groups, *counts)
    )
    organization_names, agent_names = _names(
        {row[3] for row in rows}, {row[4] for row in rows if row[4] is not None}
    )
    original = {s.value: ComplianceRow(s.value, str(s.label)) for s in Severity}
    current = {s.value: ComplianceRow(s.value, str(s.label)) for s in Severity}
    category = {c.value: ComplianceRow(c.value, str(c.label)) for c in Category}
    organization: dict[int, ComplianceRow] = {}
    agent: dict[int | None, ComplianceRow] = {}
    overall = ComplianceRow("all", str(_("All requests")))
    outcomes = list(counts)
    for row in rows:
        orig, sev, cat, org_id, agent_id = row[:5]
        org = organization.setdefault(
            org_id, ComplianceRow(str(org_id), organization_names.get(org_id, ""))
        )
        assignee = agent.setdefault(
            agent_id,
            ComplianceRow(str(agent_id), agent_names.get(agent_id, ""))
            if agent_id is not None
            else ComplianceRow(UNASSIGNED, str(_("Unassigned"))),
        )
        groups_of_row = [original.get(orig), current.get(sev), category.get(cat), org, assignee]
        for outcome, count in zip(outcomes, row[5:], strict=True):
            if count:
                overall.add(outcome, count)
                for group in groups_of_row:
                    if group is not None:
                        group.add(outcome, count)
    return Compliance(
        by_original_severity=list(original.values()),
        by_severity=list(current.values()),
        by_category=list(category.values()),
        by_organization=sorted(
            organization.values(),
            key=lambda r: (r.percent is None, r.percent or 0.0, -r.total, r.label),
        ),
        by_agent=sorted(
            agent.values(), key=lambda r: (r.key == UNASSIGNED, r.label.casefold(), r.key)
        ),
        overall=overall,
    )


# The workers' steps the trend counts (the queue's breached/downgraded filters too).
TREND_BREACH = Q(kind=EventKind.ESCALATED, step_level=1)
TREND_DOWNGRADE = Q(kind=EventKind.DOWNGRADED)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    start: date
    breaches: int
    downgrades: int


def breaches_and_downgrades(period: Period, *, granularity: str) -> list[TrendPoint]:
    """Response-deadline breaches (the workers' level-1 escalations) and cooperation
    downgrades (POL-SEV-7) per day or week, every period present even when empty."""
    if granularity not in ("day", "week"):
        raise ValueError(f"unknown granularity {granularity!r}")
    breach = TREND_BREACH
    downgrade = TREND_DOWNGRADE
    found: dict[date, dict[str, int]] = defaultdict(dict)
    for bucket, kind, n in (
        Event.objects.filter(
            breach | downgrade,
            # Only the workers' steps carry a lapse; it also narrows the scan to them.
            step_lapse_at__isnull=False,
            created_at__gte=period.start_at,
            created_at__lt=period.end_at,
        )
        .order_by()
        .annotate(bucket=Trunc("created_at", granularity, tzinfo=period.zone))
        .values_list("bucket", "kind")
        .annotate(n=Count("*"))
        .values_list("bucket", "kind", "n")
    ):
        day = bucket.date() if isinstance(bucket, datetime) else bucket
        found[day][kind] = found[day].get(kind, 0) + n
    points: list[TrendPoint] = []
    cursor = period.start
    if granularity == "week":
        cursor -= timedelta(days=cursor.weekday())
    step = timedelta(days=7 if granularity == "week" else 1)
    while cursor <= period.end:
        values = found.get(cursor, {})
        points.append(
            TrendPoint(
                cursor,
                values.get(EventKind.ESCALATED, 0),
                values.get(EventKind.DOWNGRADED, 0),
            )
        )
        cursor += step
    return points


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """The customers' ratings of resolved requests (POL-ROLE-2)."""

    count: int
    average: float | None
    distribution: list[tuple[int, int]]  # (score, how many), 5 down to 1
    by_severity: list[tuple[str, float | None, int]]
    comments: list[Rating] = field(default_factory=list)


SATISFACTION_COMMENTS = 20


def satisfaction(period: Period) -> Satisfaction:
    """Two queries: the scores grouped by severity and score, and the latest comments."""
    ratings = Rating.objects.filter(created_at__gte=period.start_at, created_at__lt=period.end_at)
    per_score: dict[int, int] = defaultdict(int)
    per_severity: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # [sum, count]
    for severity, score, n in (
        ratings.order_by()
        .values_list("ticket__severity", "score")
        .annotate(n=Count("*"))
        .values_list("ticket__severity", "score", "n")
    ):
        per_score[score] += n
        per_severity[severity][0] += score * n
        per_severity[severity][1] += n
    count = sum(per_score.values())
    total = sum(score * n for score, n in per_score.items())
    comments = list(
        ratings.exclude(comment="")
        .select_related("ticket", "ticket__organization")
        .order_by("-created_at", "-pk")[:SATISFACTION_COMMENTS]
    )
    return Satisfaction(
        count=count,
        average=total / count if count else None,
        distribution=[(score, per_score.get(score, 0)) for score in range(5, 0, -1)],
        by_severity=[
            (
                s.value,
                per_severity[s.value][0] / per_severity[s.value][1]
                if per_severity[s.value][1]
                else None,
                per_severity[s.value][1],
            )
            for s in Severity
        ],
        comments=comments,
    )


# --- Resolution time, backlog age, agents, organizations ------------------------------------


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def percentile(ordered: Sequence[float], share: float) -> float | None:
    """Linear interpolation between the closest ranks, as PostgreSQL's
    ``percentile_cont``; ``ordered`` is sorted ascending."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class DurationStats:
    """Wall-clock durations in hours: how many, the median and the 90th percentile."""

    key: str
    label: str
    count: int
    median: float | None
    p90: float | None

    @property
    def median_time(self) -> timedelta | None:
        return timedelta(hours=self.median) if self.median is not None else None

    @property
    def p90_time(self) -> timedelta | None:
        return timedelta(hours=self.p90) if self.p90 is not None else None

    @classmethod
    def of(cls, key: str, label: str, hours: list[float]) -> DurationStats:
        ordered = sorted(hours)
        return cls(key, label, len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.9))


@dataclass(frozen=True, slots=True)
class ResolutionTimes:
    """Requests resolved in the period, from filing to resolution in wall time (what the
    customer lived through, nights and weekends included), by the severity they were filed
    with, by assignee and by organization."""

    overall: DurationStats
    by_original_severity: list[DurationStats]
    by_agent: list[DurationStats]
    by_organization: list[DurationStats]


def resolution_times(period: Period) -> ResolutionTimes:
    """Two queries: the resolved requests' few columns, their durations subtracted in the
    database, and the names of their organizations and agents. The medians and
    percentiles are taken here, as SQLite has no percentile function."""
    duration = ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())
    rows = list(
        Ticket.objects.filter(resolved_at__gte=period.start_at, resolved_at__lt=period.end_at)
        .order_by()
        .annotate(duration=duration)
        .values_list("original_severity", "organization_id", "assignee_id", "duration")
    )
    organization_labels, agent_labels = _names(
        {row[1] for row in rows}, {row[2] for row in rows if row[2] is not None}
    )
    everything: list[float] = []
    severity: dict[str, list[float]] = {s.value: [] for s in Severity}
    agents: dict[int | None, list[float]] = defaultdict(list)
    organizations: dict[int, list[float]] = defaultdict(list)
    for orig, org_id, agent_id, took in rows:
        hours = took.total_seconds() / 3600
        everything.append(hours)
        severity.setdefault(orig, []).append(hours)
        agents[agent_id].append(hours)
        organizations[org_id].append(hours)
    labels = dict(Severity.choices)
    return ResolutionTimes(
        overall=DurationStats.of("all", str(_("All requests")), everything),
        by_original_severity=[
            DurationStats.of(key, str(labels.get(key, key)), hours)
            for key, hours in severity.items()
        ],
        by_agent=sorted(
            (
                DurationStats.of(
                    str(agent_id) if agent_id is not None else UNASSIGNED,
                    agent_labels.get(agent_id, "")
                    if agent_id is not None
                    else str(_("Unassigned")),
                    hours,
                )
                for agent_id, hours in agents.items()
            ),
            key=lambda r: (r.key == UNASSIGNED, r.label.casefold(), r.key),
        ),
        by_organization=sorted(
            (
                DurationStats.of(str(org_id), organization_labels.get(org_id, ""), hours)
                for org_id, hours in organizations.items()
            ),
            key=lambda r: (r.label.casefold(), r.key),
        ),
    )


# Ages of open requests: (key, label, at least this many days old, younger than this).
AGE_BUCKETS: tuple[tuple[str, StrPromise, int, int | None], ...] = (
    ("under_1d", _("Under 1 day"), 0, 1),
    ("1d_3d", _("1–3 days"), 1, 3),
    ("3d_7d", _("3–7 days"), 3, 7),
    ("7d_30d", _("7–30 days"), 7, 30),
    ("over_30d", _("Over 30 days"), 30, None),
)


@dataclass(frozen=True, slots=True)
class BacklogRow:
    key: str
    label: str
    counts: list[int]  # one per AGE_BUCKETS entry

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class Backlog:
    """The active requests now, by age since filing and by their current severity."""

    buckets: list[tuple[str, str]]  # (key, label) of AGE_BUCKETS
    by_severity: list[BacklogRow]
    overall: BacklogRow
    oldest: Ticket | None


def backlog(*, now: datetime) -> Backlog:
    """Two queries, both of the active rows only: their counts per severity and age
    bucket, and the oldest of them."""
    counts: dict[str, Count] = {}
    for key, _label, older, younger in AGE_BUCKETS:
        condition = Q(created_at__lte=now - timedelta(days=older)) if older else Q()
        if younger is not None:
            condition &= Q(created_at__gt=now - timedelta(days=younger))
        counts[key] = Count("id", filter=condition) if condition else Count("id")
    found = {
        row[0]: list(row[1:])
        for row in Ticket.objects.active()
        .order_by()
        .values_list("severity")
        .annotate(**counts)
        .values_list("severity", *counts)
    }
    empty = [0] * len(AGE_BUCKETS)
    by_severity = [BacklogRow(s.value, str(s.label), found.get(s.value, empty)) for s in Severity]
    overall = BacklogRow(
        "all",
        str(_("All open requests")),
        [sum(row.counts[i] for row in by_severity) for i in range(len(AGE_BUCKETS))],
    )
    oldest = (
        Ticket.objects.active()
        .select_related("organization")
        .only("title", "severity", "status", "created_at", "organization__name")
        .order_by("created_at", "pk")
        .first()
    )
    return Backlog(
        buckets=[(key, str(label)) for key, label, _older, _younger in AGE_BUCKETS],
        by_severity=by_severity,
        overall=overall,
        oldest=oldest,
    )


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One agent over the period (or the unassigned requests).

    ``assigned`` are the requests filed in the period that are assigned to the agent now
    (their first-response outcomes in ``compliance``); ``first_responses`` are the first
    responses the agent wrote in the period, on any request, whoever it is assigned to
    now (a reply or an information request that was the request's first, from its
    Event), ``first_responses_met`` those within the deadline; ``resolution`` is of the
    requests resolved in the period that are assigned to the agent."""

    key: str
    label: str
    compliance: ComplianceRow
    first_responses: int
    first_responses_met: int
    resolution: DurationStats | None

    @property
    def assigned(self) -> int:
        return self.compliance.filed


def first_responses_by_agent(period: Period) -> dict[int, tuple[str, int, int]]:
    """agent id → (name, first responses written in the period, within their deadline):
    one grouped query of the reply Events that carry ``first_response``."""
    met = Q(ticket__first_response_at__lte=F("ticket__first_response_due_at"))
    rows = (
        Event.objects.filter(
            kind__in=(EventKind.REPLIED, EventKind.INFORMATION_REQUESTED),
            created_at__gte=period.start_at,
            created_at__lt=period.end_at,
            actor_user__isnull=False,
            after__first_response=True,
        )
        .order_by()
        .values_list("actor_user_id", "actor_user__full_name", "actor_user__email")
        .annotate(total=Count("*"), met=Count("id", filter=met))
        .values_list("actor_user_id", "actor_user__full_name", "actor_user__email", "total", "met")
    )
    return {
        user_id: (_agent_label(name, email), total, met_count)
        for user_id, name, email, total, met_count in rows
    }


def agent_rows(
    compliance: Compliance,
    resolution: ResolutionTimes,
    responses: dict[int, tuple[str, int, int]],
) -> list[AgentRow]:
    """The three readings joined by agent; no query of its own."""
    by_key = {row.key: row for row in compliance.by_agent}
    resolved = {row.key: row for row in resolution.by_agent}
    labels = {row.key: row.label for row in compliance.by_agent}
    for stats in resolution.by_agent:
        labels.setdefault(stats.key, stats.label)
    for user_id, (name, _total, _met) in responses.items():
        labels.setdefault(str(user_id), name)
    rows = []
    for key, label in labels.items():
        given = responses.get(int(key), ("", 0, 0)) if key != UNASSIGNED else ("", 0, 0)
        rows.append(
            AgentRow(
                key=key,
                label=label,
                compliance=by_key.get(key, ComplianceRow(key, label)),
                first_responses=given[1],
                first_responses_met=given[2],
                resolution=resolved.get(key),
            )
        )
    return sorted(rows, key=lambda r: (r.key == UNASSIGNED, r.label.casefold(), r.key))


@dataclass(frozen=True, slots=True)
class OrganizationRow:
    key: str
    label: str
    compliance: ComplianceRow
    resolution: DurationStats | None


def organization_rows(compliance: Compliance, resolution: ResolutionTimes) -> list[OrganizationRow]:
    """Compliance and resolution joined by organization, lowest compliance first (those
    that need attention lead); no query of its own."""
    resolved = {row.key: row for row in resolution.by_organization}
    rows = [
        OrganizationRow(row.key, row.label, row, resolved.pop(row.key, None))
        for row in compliance.by_organization
    ]
    # Organizations with resolutions but no request filed in the period.
    rows += [
        OrganizationRow(key, row.label, ComplianceRow(key, row.label), row)
        for key, row in sorted(resolved.items(), key=lambda item: item[1].label.casefold())
    ]
    return rows


# --- A customer organization's own report (portal) -------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthRow:
    """One severity (or all) of an organization's month."""

    key: str
    label: str
    compliance: ComplianceRow  # requests filed in the month
    first_response: DurationStats  # filing → first response, requests filed in the month
    resolution: DurationStats  # filing → resolution, requests resolved in the month

    @property
    def filed(self) -> int:
        return self.compliance.filed

    @property
    def resolved(self) -> int:
        return self.resolution.count


@dataclass(frozen=True, slots=True)
class OrganizationMonth:
    """An organization's calendar month read in its own time zone."""

    month_start: date
    start_at: datetime
    end_at: datetime
    overall: MonthRow
    by_original_severity: list[MonthRow]


def month_bounds(month_start: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The month holding ``month_start``, as instants: its first midnight and the next
    month's, in ``zone`` (a month across a daylight-saving change is an hour short or long)."""
    first = month_start.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(following, time(0), tzinfo=zone),
    )


def organization_report(
    organization: Organization, *, month_start: date, now: datetime
) -> OrganizationMonth:
    """The organization's own service in one calendar month of its time zone: first
    responses of the requests filed in the month (met, missed — late or still unanswered
    past the deadline — and pending, by the severity each was filed with), the median
    time to a first response, and the median time to resolution of the requests resolved
    in the month. Reads this organization's requests only: one query."""
    start_at, end_at = month_bounds(month_start, organization.zone)
    in_month = Q(created_at__gte=start_at, created_at__lt=end_at)
    resolved_in_month = Q(resolved_at__gte=start_at, resolved_at__lt=end_at)
    rows = (
        Ticket.objects.for_org(organization)
        .filter(in_month | resolved_in_month)
        .order_by()
        .annotate(outcome=first_response_outcome(now))
        .values_list(
            "original_severity", "outcome", "created_at", "first_response_at", "resolved_at"
        )
    )
    labels = dict(Severity.choices)
    keys = ["all", *Severity.values]
    compliance = {key: ComplianceRow(key, "") for key in keys}
    responses: dict[str, list[float]] = {key: [] for key in keys}
    resolutions: dict[str, list[float]] = {key: [] for key in keys}
    for severity, outcome, created, first_response, resolved in rows:
        groups = ["all", severity] if severity in labels else ["all"]
        for key in groups:
            if start_at <= created < end_at:
                compliance[key].add(outcome, 1)
                if first_response is not None:
                    responses[key].append(_hours(created, first_response))
            if resolved is not None and start_at <= resolved < end_at:
                resolutions[key].append(_hours(created, resolved))

    def month_row(key: str, label: str) -> MonthRow:
        compliance[key].label = label
        return MonthRow(
            key,
            label,
            compliance[key],
            DurationStats.of(key, label, responses[key]),
            DurationStats.of(key, label, resolutions[key]),
        )

    return OrganizationMonth(
        month_start=start_at.date(),
        start_at=start_at,
        end_at=end_at,
        overall=month_row("all", str(_("All requests"))),
        by_original_severity=[month_row(s.value, str(s.label)) for s in Severity],
    )


def previous_month(month_start: date) -> date:
    return (month_start.replace(day=1) - timedelta(days=1)).replace(day=1)
