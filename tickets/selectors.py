"""Reads of the agent desk (issue 7): the queue and the supervisors' reports.

Every function here runs a fixed number of queries whatever the number of tickets, and
does its aggregation in the database. The queue reads only active tickets through the
partial index ``ticket_queue`` (see ``tickets.models.queue_bucket``), so its cost follows
the ~2 % of tickets that are active, not the closed history.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Count, F, Q
from django.db.models.functions import Trunc

from severity.choices import Category, Severity
from tenants.models import Organization, User
from tickets.models import (
    Event,
    EventKind,
    Rating,
    Status,
    Ticket,
    TicketQuerySet,
    parse_reference,
    queue_bucket,
    queue_due,
)

QUEUE_PAGE_SIZE = 50

# Queue buckets (tickets.models.queue_bucket).
BUCKET_SUPPORT_CLOCK = 0
BUCKET_WAITING_ON_CUSTOMER = 1

# Big text columns the queue rows never show.
_QUEUE_DEFERRED = ("description", "business_impact", "severity_reason", "contact_24x7")


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
    waiting: bool = False
    q: str = ""


@dataclass(frozen=True, slots=True)
class SeverityCount:
    severity: str
    label: str
    total: int
    breached: int


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[Ticket]
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
    """Active tickets narrowed by every filter except severity (the counts are per
    severity, so they are taken before it applies)."""
    # One status condition, not "active AND this status": the planner multiplies the two
    # as if independent and then expects a handful of rows where there are thousands.
    if filters.status in Status.active():
        tickets = Ticket.objects.filter(status=filters.status)
    else:
        tickets = Ticket.objects.active()
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
    if filters.q:
        tickets = tickets.filter(_search(filters.q))
    return tickets


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


def queue_page(filters: QueueFilters, *, user: User, now: datetime, page: int = 1) -> QueuePage:
    """One page of the queue, most urgent first, and the counts per severity: two queries."""
    base = _queue_base(filters, user=user, now=now)
    support_clock_lapsed = Q(
        status__in=(Status.NEW, Status.OPEN), response_due_at__isnull=False
    ) & Q(response_due_at__lte=now)
    grouped = dict.fromkeys(Severity.values, (0, 0))
    for severity, total, breached in (
        base.order_by()
        .values_list("severity")
        .annotate(total=Count("*"), breached=Count("id", filter=support_clock_lapsed))
        .values_list("severity", "total", "breached")
    ):
        grouped[severity] = (total, breached)
    counts = [SeverityCount(s.value, str(s.label), *grouped.get(s.value, (0, 0))) for s in Severity]
    if filters.severity:
        tickets = base.filter(severity=filters.severity)
        total = grouped.get(filters.severity, (0, 0))[0]
    else:
        tickets = base
        total = sum(c.total for c in counts)
    pages = max(1, -(-total // QUEUE_PAGE_SIZE))
    page = min(max(page, 1), pages)
    offset = (page - 1) * QUEUE_PAGE_SIZE
    # Two steps: the page's ids straight off the ordered index (no joins to mislead the
    # planner), then those rows with what they show.
    ids = list(
        tickets.in_queue_order().values_list("pk", flat=True)[offset : offset + QUEUE_PAGE_SIZE]
    )
    found = {
        t.pk: t
        for t in Ticket.objects.filter(pk__in=ids)
        .order_by()
        .select_related("organization", "product", "assignee")
        .defer(*_QUEUE_DEFERRED)
    }
    rows = [found[pk] for pk in ids if pk in found]
    return QueuePage(rows=rows, total=total, page=page, pages=pages, counts=counts)


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


@dataclass(slots=True)
class ComplianceRow:
    key: str
    label: str
    total: int = 0
    met: int = 0

    @property
    def missed(self) -> int:
        return self.total - self.met

    @property
    def percent(self) -> float | None:
        return 100.0 * self.met / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Compliance:
    """First responses given in the period, and how many met their target (POL-SLA-1)."""

    by_severity: list[ComplianceRow]
    by_category: list[ComplianceRow]
    by_organization: list[ComplianceRow]
    overall: ComplianceRow


def sla_compliance(period: Period) -> Compliance:
    """One grouped query; the three breakdowns are sums of its (at most 9 × orgs) rows."""
    met = Q(first_response_at__lte=F("first_response_due_at"))
    rows = (
        Ticket.objects.filter(
            first_response_at__gte=period.start_at,
            first_response_at__lt=period.end_at,
            # Responses given before the deadline was recorded have nothing to compare.
            first_response_due_at__isnull=False,
        )
        .order_by()
        .values_list("severity", "category", "organization_id", "organization__name")
        .annotate(total=Count("*"), met=Count("id", filter=met))
    )
    severity = {s.value: ComplianceRow(s.value, str(s.label)) for s in Severity}
    category = {c.value: ComplianceRow(c.value, str(c.label)) for c in Category}
    organization: dict[int, ComplianceRow] = {}
    overall = ComplianceRow("all", "")
    for sev, cat, org_id, org_name, total, met_count in rows:
        org = organization.setdefault(org_id, ComplianceRow(str(org_id), org_name))
        for row in (severity.get(sev), category.get(cat), org, overall):
            if row is not None:
                row.total += total
                row.met += met_count
    return Compliance(
        by_severity=list(severity.values()),
        by_category=list(category.values()),
        by_organization=sorted(
            organization.values(), key=lambda r: (r.percent or 0.0, -r.total, r.label)
        ),
        overall=overall,
    )


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
    breach = Q(kind=EventKind.ESCALATED, step_level=1)
    downgrade = Q(kind=EventKind.DOWNGRADED)
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
