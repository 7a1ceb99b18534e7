"""``manage.py generate_tickets N --organizations 100 --open-share 0.02``: a large data set
for the desk's scale checks (bench/desk.py).

Creates (or reuses) the organizations, one global admin each, a team of agents, and N
tickets written straight to the table: mostly closed history spread over two years, and
about ``--open-share`` of them active, with the deadlines, assignees, escalation levels
and statuses a busy desk has. On PostgreSQL the tickets go in with ``COPY`` in batches
of 100,000 rows (a million rows in about a minute); elsewhere with multi-row INSERTs.

These tickets bypass ``tickets.services`` on purpose: they carry no Events, because the
queue reads only the ticket rows, and writing a million tickets through the services
would take hours. Do not run this against a database people work in.
"""

from __future__ import annotations

import csv
import io
import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from helpcenter.models import Service
from tenants.models import Contract, Membership, Organization, Role, StaffRole, User
from tickets.models import Status, Ticket

BATCH = 100_000
HISTORY = timedelta(days=730)
# Active tickets are mostly recent: this share of them is filed in the last month.
RECENT_ACTIVE_SHARE = 0.85
RECENT = timedelta(days=30)

WORDS = [
    "mail",
    "flow",
    "stuck",
    "outbox",
    "mailbox",
    "migration",
    "shared",
    "calendar",
    "sync",
    "sign-in",
    "password",
    "reset",
    "licence",
    "renewal",
    "invoice",
    "charge",
    "trial",
    "conversion",
    "site",
    "permissions",
    "external",
    "users",
    "meeting",
    "join",
    "failure",
    "autodiscover",
    "single",
    "sign-on",
    "directory",
    "sync",
    "forwarding",
    "rule",
    "printer",
    "teams",
    "chat",
    "storage",
    "quota",
    "admin",
    "centre",
    "error",
]
TIME_ZONES = ("Europe/Warsaw", "Europe/London", "America/New_York", "Asia/Shanghai", "UTC")


class Command(BaseCommand):
    help = "Create N tickets (mostly closed, a share active) across organizations, fast."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("count", type=int, help="how many tickets to create")
        parser.add_argument("--organizations", type=int, default=100)
        parser.add_argument("--open-share", type=float, default=0.02)
        parser.add_argument("--agents", type=int, default=20)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["count"]
        orgs: int = options["organizations"]
        share: float = options["open_share"]
        if count < 1 or orgs < 1 or not 0 <= share <= 1 or options["agents"] < 1:
            raise CommandError("N, --organizations and --agents must be positive; 0 ≤ share ≤ 1.")
        # Reproducible test data, not secrets.
        rng = random.Random(options["seed"])  # noqa: S311
        now = timezone.now()
        started = time.monotonic()
        organizations = self._organizations(orgs, rng)
        agents = self._agents(options["agents"])
        products: list[int | None] = list(Service.objects.values_list("pk", flat=True)) or [None]
        columns = self._columns()
        rows = _TicketRows(
            rng=rng,
            now=now,
            count=count,
            share=share,
            organizations=organizations,
            agents=agents,
            products=products,
        )
        written = 0
        for batch in rows.batches(BATCH):
            self._insert(columns, batch)
            written += len(batch)
            self.stdout.write(f"{written:,} tickets written ({time.monotonic() - started:.0f} s)")
        if connection.vendor == "postgresql":
            # Fresh statistics for the planner, and (outside a transaction) the visibility
            # map that lets the queue's counts be index-only scans.
            with connection.cursor() as cursor:
                if connection.in_atomic_block:
                    cursor.execute("ANALYZE tickets_ticket")
                else:
                    cursor.execute("VACUUM ANALYZE tickets_ticket")
        self.stdout.write(
            self.style.SUCCESS(
                f"{written:,} tickets ({rows.active:,} active) for {len(organizations)} "
                f"organizations in {time.monotonic() - started:.0f} s"
            )
        )

    def _organizations(self, count: int, rng: random.Random) -> list[tuple[int, str]]:
        """(id, contract) of ``gen-org-NNN``, created where missing, each with an admin."""
        slugs = [f"gen-org-{i:03d}" for i in range(1, count + 1)]
        existing = set(Organization.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        with transaction.atomic():
            Organization.objects.bulk_create(
                [
                    Organization(
                        name=f"Generated Org {slug[-3:]}",
                        slug=slug,
                        country="PL",
                        time_zone=rng.choice(TIME_ZONES),
                        contract=Contract.ADVANCED if rng.random() < 0.3 else Contract.STANDARD,
                    )
                    for slug in slugs
                    if slug not in existing
                ]
            )
            found = list(
                Organization.objects.filter(slug__in=slugs)
                .order_by("slug")
                .values_list("pk", "slug", "contract")
            )
            emails = [f"admin@{slug}.example.test" for _pk, slug, _c in found]
            have = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
            User.objects.bulk_create(
                [
                    User(email=email, full_name="Generated Admin")
                    for email in emails
                    if email not in have
                ]
            )
            users = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
            members = set(
                Membership.objects.filter(user_id__in=users.values()).values_list(
                    "user_id", "organization_id"
                )
            )
            Membership.objects.bulk_create(
                [
                    Membership(
                        user_id=users[f"admin@{slug}.example.test"],
                        organization_id=pk,
                        role=Role.GLOBAL_ADMIN,
                    )
                    for pk, slug, _c in found
                    if (users[f"admin@{slug}.example.test"], pk) not in members
                ]
            )
        return [(pk, contract) for pk, _slug, contract in found]

    def _agents(self, count: int) -> list[int]:
        emails = [f"agent{i:02d}@provider.example.test" for i in range(1, count + 1)]
        have = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        User.objects.bulk_create(
            [
                User(email=email, full_name=f"Agent {email[5:7]}", staff_role=StaffRole.AGENT)
                for email in emails
                if email not in have
            ]
        )
        return list(User.objects.filter(email__in=emails).values_list("pk", flat=True))

    @staticmethod
    def _columns() -> list[str]:
        return [f.column for f in Ticket._meta.concrete_fields if f.column and f.column != "id"]

    def _insert(self, columns: list[str], batch: list[dict[str, Any]]) -> None:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in batch:
                writer.writerow([_csv(row.get(column)) for column in columns])
            buffer.seek(0)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.copy_expert(
                    f"COPY tickets_ticket ({', '.join(columns)}) FROM STDIN "
                    "WITH (FORMAT csv, NULL '\\N')",
                    buffer,
                )
            return
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        # Column names come from the model's metadata, never from input.
        sql_head = f"INSERT INTO tickets_ticket ({', '.join(columns)}) VALUES "  # noqa: S608
        # SQLite allows 32,766 parameters per statement.
        per_statement = max(1, 30_000 // len(columns))
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(0, len(batch), per_statement):
                chunk = batch[start : start + per_statement]
                params: list[Any] = []
                for row in chunk:
                    params.extend(_db_value(row.get(column)) for column in columns)
                cursor.execute(sql_head + ", ".join([placeholders] * len(chunk)), params)


def _csv(value: Any) -> Any:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _db_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value


class _TicketRows:
    """The rows, generated in creation order so ids grow with ``created_at``."""

    def __init__(
        self,
        *,
        rng: random.Random,
        now: datetime,
        count: int,
        share: float,
        organizations: list[tuple[int, str]],
        agents: list[int],
        products: list[int | None],
    ) -> None:
        self.rng = rng
        self.now = now
        self.count = count
        self.organizations = organizations
        self.agents = agents
        self.products = products
        self.active = 0
        wanted = round(count * share)
        recent_rows = max(1, min(count, int(count * RECENT / HISTORY)))
        # Probabilities so that RECENT_ACTIVE_SHARE of the active ones are recent; what the
        # recent rows cannot hold (a small N with a large share) goes to the older ones.
        recent_active = min(recent_rows, wanted * RECENT_ACTIVE_SHARE)
        self.p_recent = recent_active / recent_rows
        older = count - recent_rows
        self.p_old = min(1.0, (wanted - recent_active) / older) if older > 0 else 0.0
        self.recent_from = count - recent_rows

    def batches(self, size: int) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for index in range(self.count):
            batch.append(self._row(index))
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _row(self, index: int) -> dict[str, Any]:
        rng = self.rng
        created = self.now - HISTORY * (1 - index / self.count)
        organization, contract = self.organizations[rng.randrange(len(self.organizations))]
        category = rng.choices(("technical", "billing", "presales"), (70, 20, 10))[0]
        severity = rng.choices(("A", "B", "C"), (10, 40, 50))[0]
        if severity == "A" and (category != "technical" or contract != Contract.ADVANCED):
            severity = "B"  # POL-SEV-5, POL-SEV-6
        p_active = self.p_recent if index >= self.recent_from else self.p_old
        words = rng.sample(WORDS, 4)
        row: dict[str, Any] = {
            "organization_id": organization,
            "title": " ".join(words).capitalize(),
            "description": f"Generated request {index}: {' '.join(words)}.",
            "category": category,
            "product_id": rng.choice(self.products),
            "impact": "degraded",
            "scope": "one",
            "business_impact": "",
            "contact_24x7": "",
            "severity": severity,
            "original_severity": severity,
            "severity_reason": "",
            "contact_phone": "",
            "contact_email": f"admin{organization}@example.test",
            "preferred_contact": "email",
            "language": "en",
            "channel": rng.choices(("web", "api", "phone"), (70, 20, 10))[0],
            "caller_phone": "",
            "escalation_level": 0,
            "clock_version": 0,
            "created_at": created,
            "updated_at": created,
        }
        if rng.random() < p_active:
            self.active += 1
            row.update(self._active(created))
        else:
            first = created + timedelta(minutes=rng.randint(5, 600))
            due = created + timedelta(hours=rng.choice((1, 15, 45)))
            resolved = first + timedelta(hours=rng.randint(1, 200))
            row.update(
                status=Status.CLOSED,
                first_response_at=first,
                first_response_due_at=due,
                last_agent_update_at=first,
                resolved_at=resolved,
                closed_at=resolved + timedelta(days=7),
                updated_at=resolved + timedelta(days=7),
                assignee_id=rng.choice(self.agents),
            )
        return row

    def _active(self, created: datetime) -> dict[str, Any]:
        rng = self.rng
        status = rng.choices((Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER), (20, 55, 25))[0]
        values: dict[str, Any] = {
            "status": status,
            "assignee_id": rng.choice(self.agents) if rng.random() < 0.6 else None,
            "updated_at": max(created, self.now - timedelta(minutes=rng.randint(0, 600))),
        }
        if status != Status.NEW:
            first = created + timedelta(minutes=rng.randint(5, 300))
            values.update(
                first_response_at=first,
                first_response_due_at=created + timedelta(hours=15),
                last_agent_update_at=first,
            )
        if status == Status.AWAITING_CUSTOMER:
            due = self.now + timedelta(minutes=rng.randint(-120, 5 * 24 * 60))
            values.update(customer_due_at=due, next_action_at=due)
        elif status == Status.NEW or rng.random() < 0.5:
            # About one in ten running clocks has lapsed, as on a busy day.
            due = self.now + timedelta(minutes=rng.randint(-300, 3 * 24 * 60))
            lapsed = due <= self.now
            values.update(
                response_due_at=due,
                escalation_level=1 if lapsed else 0,
                second_escalation_at=due + timedelta(hours=15),
                next_action_at=due + timedelta(hours=15) if lapsed else due,
            )
        return values
