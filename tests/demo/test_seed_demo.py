"""``manage.py seed_demo``: the demo data the README and the workers demo rely on."""

import dataclasses
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.models import Q
from django.test import RequestFactory, override_settings
from django.utils import timezone

from demo.data.help_centre import ARTICLES, INCIDENTS
from demo.data.people import DEMO_PASSWORD
from demo.data.policies import CONTOSO_POLICY_NAME
from helpcenter.models import Article, Incident, IncidentUpdate, Service
from severity.choices import Category, Severity
from tenants.models import (
    Contract,
    Membership,
    Organization,
    Partner,
    RegisteredEmail,
    RegisteredPhone,
    Role,
    StaffRole,
    User,
)
from tickets.models import Channel, Event, EventKind, Message, Status, Ticket

# One worker runs the demo modules one after another: two of them commit the demo data
# for the module's length, which another module's "created once" check must not meet.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo")]

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SEEDED_MODELS = (
    User,
    Partner,
    Organization,
    Membership,
    RegisteredPhone,
    RegisteredEmail,
    Ticket,
    Message,
    Event,
    Incident,
    IncidentUpdate,
    Article,
)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, list[tuple]]:
    return {
        model.__name__: sorted(map(tuple, model.objects.values_list()), key=repr)
        for model in SEEDED_MODELS
    }


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seeds twice, as a developer re-running the setup would; yields both outputs.

    Seeding runs every ticket through the services (about a second), so it happens once
    for the module, committed, and is removed at the end; each test still runs in its
    own rolled-back transaction."""
    # The base fixtures (fast hashing, no task publishing) are function-scoped, so not
    # active yet here.
    from django.conf import settings

    quiet = dataclasses.replace(settings.SUPPORTDESK, DEADLINE_TASKS=False, OUTBOX_TASKS=False)
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS, SUPPORTDESK=quiet),
    ):
        outputs = seed(), seed()
    yield outputs
    with django_db_blocker.unblock():
        remove_demo_data()


def remove_demo_data() -> None:
    from severity.models import SlaPolicy
    from slapolicies.models import PolicyChange
    from tickets.models import RemeasureJob

    organizations = Organization.objects.filter(slug__in=["contoso", "fabrikam"])
    Ticket.objects.filter(organization__in=organizations).delete()
    organizations.delete()
    # Contoso's own SLA policy, its versions, re-measures and audit rows.
    policy = SlaPolicy.objects.filter(name=CONTOSO_POLICY_NAME).first()
    if policy is not None:
        RemeasureJob.objects.filter(version__policy=policy).delete()
        PolicyChange.objects.filter(policy=policy).delete()
        SlaPolicy.objects.filter(pk=policy.pk).update(current_version=None)
        policy.versions.all().delete()
        policy.delete()
    Partner.objects.filter(name="Northwind Partners").delete()
    User.objects.filter(
        Q(email__endswith="@supportdesk.example")
        | Q(email__endswith="@contoso.example")
        | Q(email__endswith="@fabrikam.example")
    ).delete()
    Group.objects.filter(name="Supervisors").delete()
    Incident.objects.filter(title__in=[incident.title for incident in INCIDENTS]).delete()
    Article.objects.filter(slug__in=[article.slug for article in ARTICLES]).delete()
    # The canned replies too: a later test of this worker may count the macros.
    from demo.data.macros import MACROS
    from tickets.models import Macro

    for macro in MACROS:
        Macro.objects.filter(language=macro.language, name=macro.name).delete()


def test_second_run_changes_nothing(seeded):
    first, _second = seeded
    before = snapshot()

    third = seed()

    assert "Created" in first
    assert "Nothing new" in third
    assert snapshot() == before
    assert Ticket.objects.count() == 40


def test_contoso_has_its_own_policy_and_a_finished_re_measure(seeded):
    from severity.models import SlaPolicy
    from slapolicies.models import ChangeAction, PolicyChange
    from tickets.models import RemeasureJob, RemeasureKind, RemeasureStatus

    contoso = Organization.objects.get(slug="contoso")
    policy = SlaPolicy.objects.get(name=CONTOSO_POLICY_NAME)
    assert contoso.sla_policy == policy
    version = policy.current_version
    target = version.targets.get(severity="B", category="technical")
    assert target.first_response == timedelta(hours=8)
    job = RemeasureJob.objects.get(kind=RemeasureKind.ORGANIZATION, organization=contoso)
    assert job.status == RemeasureStatus.DONE
    assert job.total == job.done > 0
    # Contoso's open requests are measured against its own terms; Fabrikam's are not.
    open_contoso = Ticket.objects.filter(organization=contoso, status__in=Status.active())
    assert set(open_contoso.values_list("sla_version", flat=True)) == {version.pk}
    assert not Ticket.objects.filter(organization__slug="fabrikam", sla_version=version).exists()
    actions = set(PolicyChange.objects.filter(policy=policy).values_list("action", flat=True))
    assert {
        ChangeAction.POLICY_CREATED,
        ChangeAction.VERSION_DRAFTED,
        ChangeAction.DRAFT_UPDATED,
        ChangeAction.VERSION_PUBLISHED,
        ChangeAction.ORGANIZATION_POLICY_SET,
    } <= actions


def test_prints_every_demo_login(seeded):
    first, second = seeded
    for email in (
        "root@supportdesk.example",
        "agent1@supportdesk.example",
        "user@fabrikam.example",
    ):
        assert email in first
        assert email in second
    assert DEMO_PASSWORD in first


def test_tenants_contracts_and_partner(seeded):
    contoso = Organization.objects.get(slug="contoso")
    fabrikam = Organization.objects.get(slug="fabrikam")
    northwind = Partner.objects.get(name="Northwind Partners")

    assert (contoso.contract, contoso.country.code, contoso.time_zone, contoso.partner) == (
        Contract.ADVANCED,
        "PL",
        "Europe/Warsaw",
        None,
    )
    assert (fabrikam.contract, fabrikam.country.code, fabrikam.time_zone, fabrikam.partner) == (
        Contract.STANDARD,
        "US",
        "America/New_York",
        northwind,
    )
    assert str(northwind.phone) == "+48221234567"
    assert Partner.objects.count() == 1


def test_registered_contacts_some_usable_some_in_cool_off(seeded):
    now = timezone.now()
    contoso = Organization.objects.get(slug="contoso")

    assert RegisteredPhone.objects.filter(organization=contoso).usable_at(now).count() == 1
    assert RegisteredEmail.objects.filter(organization=contoso).usable_at(now).count() == 1
    assert RegisteredPhone.objects.filter(organization=contoso).count() == 2
    assert RegisteredEmail.objects.filter(organization=contoso).count() == 2
    fabrikam = Organization.objects.get(slug="fabrikam")
    assert RegisteredPhone.objects.filter(organization=fabrikam).usable_at(now).count() == 1
    assert RegisteredEmail.objects.filter(organization=fabrikam).usable_at(now).count() == 1


def test_members_roles_and_staff(seeded):
    for slug in ("contoso", "fabrikam"):
        roles = dict(
            Membership.objects.filter(organization__slug=slug).values_list("user__email", "role")
        )
        assert roles == {
            f"admin@{slug}.example": Role.GLOBAL_ADMIN,
            f"billing@{slug}.example": Role.BILLING_ADMIN,
            f"support-admin@{slug}.example": Role.SERVICE_SUPPORT_ADMIN,
            f"user@{slug}.example": Role.USER,
        }
    staff = {u.email: u for u in User.objects.exclude(staff_role=StaffRole.NONE)}
    assert staff["agent1@supportdesk.example"].staff_role == StaffRole.AGENT
    assert staff["agent2@supportdesk.example"].staff_role == StaffRole.AGENT
    supervisor = staff["supervisor@supportdesk.example"]
    assert (supervisor.staff_role, supervisor.is_staff, supervisor.is_superuser) == (
        StaffRole.SUPERVISOR,
        True,
        False,
    )
    assert supervisor.has_perm("severity.change_calendar")
    assert not supervisor.has_perm("tickets.change_ticket")
    assert User.objects.get(email="root@supportdesk.example").is_superuser
    assert User.objects.get(email="admin@contoso.example").language == "pl"
    assert not User.objects.get(email="agent1@supportdesk.example").is_staff


def test_every_demo_password_works(seeded):
    # Sign-in protection (django-axes) needs the request, as the login view gives it.
    request = RequestFactory().post("/accounts/login/")
    for user in User.objects.all():
        assert authenticate(request, email=user.email, password=DEMO_PASSWORD) == user, user.email


def test_tickets_cover_every_status_category_and_channel(seeded):
    for slug in ("contoso", "fabrikam"):
        tickets = Ticket.objects.filter(organization__slug=slug)
        assert 15 <= tickets.count() <= 25
        assert set(tickets.values_list("status", flat=True)) == set(Status.values), slug
        assert set(tickets.values_list("category", flat=True)) == set(Category.values), slug
        assert set(tickets.values_list("channel", flat=True)) == {Channel.WEB, Channel.PHONE}
    assert set(Ticket.objects.values_list("severity", flat=True)) == set(Severity.values)
    assert not Ticket.objects.filter(organization__slug="fabrikam", severity=Severity.A).exists()
    assert Ticket.objects.filter(product__isnull=True).count() == 0
    assert Service.objects.filter(tickets__isnull=False).distinct().count() >= 8


def test_tickets_were_written_by_the_services(seeded):
    tickets = Ticket.objects.all()
    created = Event.objects.filter(kind=EventKind.CREATED)

    assert created.count() == tickets.count()
    assert set(created.values_list("ticket", flat=True)) == set(
        tickets.values_list("pk", flat=True)
    )
    for ticket in tickets.filter(status=Status.CLOSED):
        assert ticket.events.filter(kind=EventKind.RESOLVED).exists()
        assert ticket.closed_at is not None
    for ticket in tickets.filter(status=Status.AWAITING_CUSTOMER):
        assert ticket.customer_due_at is not None
    # Times run forward within every ticket and never into the future.
    now = timezone.now()
    for ticket in tickets:
        times = list(ticket.events.order_by("pk").values_list("created_at", flat=True))
        assert times == sorted(times)
        assert times[0] == ticket.created_at
        assert times[-1] <= now


def test_tickets_filed_only_by_roles_allowed_to(seeded):
    for event in Event.objects.filter(kind=EventKind.CREATED).select_related("ticket"):
        role = (
            Membership.objects.filter(user=event.actor_user, organization=event.organization)
            .values_list("role", flat=True)
            .first()
        )
        if event.ticket.channel == Channel.PHONE:
            assert event.actor_user.is_agent
        elif event.ticket.category == Category.TECHNICAL:
            assert role in {Role.GLOBAL_ADMIN, Role.SERVICE_SUPPORT_ADMIN}
        else:
            assert role in {Role.GLOBAL_ADMIN, Role.BILLING_ADMIN}


def test_some_tickets_breached_and_a_severity_a_about_to(seeded):
    now = timezone.now()
    waiting = Ticket.objects.waiting_on_support()

    assert waiting.response_due_before(now).exists()
    imminent = Ticket.objects.get(
        organization__slug="contoso", title="Nobody can send or receive e-mail"
    )
    assert (imminent.severity, imminent.status) == (Severity.A, Status.NEW)
    assert now < imminent.response_due_at < now + timedelta(minutes=10)


def test_fabrikam_asks_for_a_and_gets_b(seeded):
    asked_for_a = Event.objects.get(
        kind=EventKind.CREATED, organization__slug="fabrikam", after__matrix_severity="A"
    )
    ticket = asked_for_a.ticket

    assert ticket.severity == Severity.B
    assert ticket.original_severity == Severity.B
    assert "advanced support agreement" in ticket.severity_reason
    assert "cap_contract" in asked_for_a.after["reasons"]
