"""The base fixture (STYLE.md): two tenants, an admin of each, a plain user, and staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from tenants.models import Contract, Membership, Organization, Role, User
from tests.factories import AgentFactory, MembershipFactory, OrganizationFactory, SupervisorFactory
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.services import TicketDraft, ticket_create

# A fixed instant: Wednesday 2026-06-10 10:00 UTC (18:00 in Beijing, 12:00 in Warsaw).
T0 = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@dataclass
class World:
    org_a: Organization
    org_b: Organization
    admin_a: Membership
    admin_b: Membership
    user_a: Membership
    agent: User
    supervisor: User

    def file(
        self,
        membership: Membership | None = None,
        *,
        now: datetime = T0,
        **overrides: object,
    ) -> Ticket:
        membership = membership or self.admin_a
        values: dict[str, object] = {
            "title": "Cannot send mail",
            "description": "Outbound mail is stuck in the outbox for everyone.",
            "category": "technical",
            "impact": "degraded",
            "scope": "many",
            "contact_email": membership.user.email,
        }
        values.update(overrides)
        return ticket_create(
            organization=membership.organization,
            actor=Actor.for_member(membership),
            draft=TicketDraft(**values),  # type: ignore[arg-type]
            now=now,
        )


@pytest.fixture
def world(db: None) -> World:
    org_a = OrganizationFactory(slug="alpha", name="Alpha Corp", contract=Contract.ADVANCED)
    org_b = OrganizationFactory(
        slug="bravo", name="Bravo Inc", contract=Contract.STANDARD, time_zone="America/New_York"
    )
    return World(
        org_a=org_a,
        org_b=org_b,
        admin_a=MembershipFactory(organization=org_a, role=Role.GLOBAL_ADMIN),
        admin_b=MembershipFactory(organization=org_b, role=Role.GLOBAL_ADMIN),
        user_a=MembershipFactory(organization=org_a, role=Role.USER),
        agent=AgentFactory(email="agent@provider.test"),
        supervisor=SupervisorFactory(email="supervisor@provider.test"),
    )


@pytest.fixture(autouse=True)
def _cold_target_cache() -> None:
    """Each test starts with no SLA target cached in the process (severity.models), so its
    queries (and pinned query counts) do not depend on the tests before it."""
    from severity.models import forget_targets

    forget_targets()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    # Production hashing costs ~0.5 s per password by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_tasks_published(settings: pytest.FixtureRequest) -> None:
    """Services publish deadline and delivery tasks after commit; tests that do not say
    otherwise must not write them into a developer's broker. Tests that check
    publishing, and the worker tier, switch them back on."""
    settings.SUPPORTDESK = {
        **settings.SUPPORTDESK,
        "DEADLINE_TASKS": False,
        "OUTBOX_TASKS": False,
        # When a test turns publishing on, it happens on commit, in the test's thread.
        "OUTBOX_PUBLISH_BATCH_SECONDS": 0,
    }


SEEDS = (
    "severity.migrations.0002_seed_policy",
    "helpcenter.migrations.0002_seed_services",
    "helpcenter.migrations.0005_seed_support_lines",
)


@pytest.fixture(autouse=True)
def _policy_data(request: pytest.FixtureRequest) -> None:
    """Transactional tests empty every table when they end, data migrations' rows included,
    and ``serialized_rollback`` cannot always put them back (Playwright's greenlets hand
    the test a different connection object than the one holding the serialized copy). So
    a transactional test re-runs the seeds of the calendars, SLA targets and services:
    they are idempotent, so this is exact."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    import importlib

    from django.apps import apps

    for module in SEEDS:
        importlib.import_module(module).seed(apps, None)
