"""Writing the demo data set (``demo.data``): tenants, people and service requests.

Idempotent: people, organizations and contacts are matched on their e-mail address,
slug or number and only written when something differs; an organization's tickets
are created only while it has none; incidents are matched on their title and articles
on their slug. A second run therefore changes nothing.

Tickets are written only through ``tickets.services`` (as the portal and the desk
would), with ``now`` set in the past, so every ticket has its Events and its SLA
clocks computed exactly as in production; incidents and articles go through
``helpcenter.services``. Times are relative to ``now``: some tickets are already past
their response deadline when seeding ends, and one Severity A request of Contoso
breaches five minutes later, for the workers demo.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.db import models, transaction
from django.db.models import ForeignObjectRel, Q
from django.utils import translation

from demo.data.contoso_tickets import CONTOSO_TICKETS
from demo.data.conversation import CUSTOMER, D, DemoTicket, Step
from demo.data.fabrikam_tickets import FABRIKAM_TICKETS
from demo.data.help_centre import ARTICLES, INCIDENTS
from demo.data.macros import MACROS
from demo.data.organizations import CONTOSO, FABRIKAM, PARTNER, TENANTS, Contact, Tenant
from demo.data.people import (
    DEMO_PASSWORD,
    STAFF,
    SUPERVISOR_EXTRA_PERMISSIONS,
    SUPERVISOR_PERMISSIONS,
    SUPERVISORS_GROUP,
    Person,
)
from demo.data.policies import (
    CONTOSO_CHANGES,
    CONTOSO_POLICY_DESCRIPTION,
    CONTOSO_POLICY_NAME,
    CONTOSO_POLICY_NOTE,
)
from helpcenter.models import Article, Incident, Service
from helpcenter.services import article_save, incident_post_update
from severity.models import SlaPolicy, SlaPolicyVersion
from slapolicies import services as policy_services
from tenants.models import (
    Membership,
    Organization,
    Partner,
    RegisteredEmail,
    RegisteredPhone,
    User,
)
from tickets.actors import Actor
from tickets.models import Channel, Event, EventKind, Macro, Status, Ticket
from tickets.remeasure import remeasure_run
from tickets.services import (
    TicketDraft,
    ticket_agent_reply,
    ticket_assign,
    ticket_close,
    ticket_create,
    ticket_customer_reply,
    ticket_internal_note,
    ticket_rate,
    ticket_request_information,
    ticket_resolve,
)

DEMO_TICKETS: dict[str, tuple[DemoTicket, ...]] = {
    CONTOSO.slug: CONTOSO_TICKETS,
    FABRIKAM.slug: FABRIKAM_TICKETS,
}


class DemoDataError(Exception):
    """The demo data contradicts itself (a step out of order, in the future, unknown)."""


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    who: str
    start_at: str


@dataclass(slots=True)
class SeedReport:
    logins: list[Login]
    # Rows written, by the model's plural name.
    created: Counter[str] = field(default_factory=Counter)
    # Existing rows brought back to the demo values.
    updated: Counter[str] = field(default_factory=Counter)


def seed_demo(*, now: datetime) -> SeedReport:
    """Create or restore the demo data set; returns the logins and what was written."""
    validate_password(DEMO_PASSWORD)
    return _Seeder(now).run()


@transaction.atomic
def seed_help_center(*, now: datetime) -> Counter[str]:
    """Create the demo incidents and articles that are missing; returns what it created."""
    created: Counter[str] = Counter()
    services = {service.slug: service for service in Service.objects.all()}
    for spec in INCIDENTS:
        if Incident.objects.filter(title=spec.title).exists():
            continue
        started = now - spec.ago
        incident = Incident.objects.create(
            service=services[spec.service],
            title=spec.title,
            title_pl=spec.title_pl,
            summary=spec.summary,
            summary_pl=spec.summary_pl,
            impact=spec.impact,
            started_at=started,
            updated_at=started,
        )
        for update in spec.updates:
            incident_post_update(
                incident=incident,
                author=None,
                status=update.status,
                body=update.body,
                body_pl=update.body_pl,
                now=started + update.after,
            )
        created[str(Incident._meta.verbose_name_plural)] += 1
    for article_spec in ARTICLES:
        if Article.objects.filter(slug=article_spec.slug).exists():
            continue
        article_save(
            article=Article(
                slug=article_spec.slug,
                language=article_spec.language,
                title=article_spec.title,
                body=article_spec.body,
                is_published=True,
            ),
            author=None,
            now=now,
            services=[services[slug] for slug in article_spec.services],
        )
        created[str(Article._meta.verbose_name_plural)] += 1
    return created


class _Seeder:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.created: Counter[str] = Counter()
        self.updated: Counter[str] = Counter()

    def run(self) -> SeedReport:
        with transaction.atomic():
            staff = {key: self._user(person) for key, person in STAFF.items()}
            self._supervisors_group(staff["supervisor"])
            partner = self._ensure(
                Partner,
                {"name": PARTNER["name"]},
                {key: value for key, value in PARTNER.items() if key != "name"},
            )
            tenants = {
                tenant.slug: self._tenant(tenant, partner if tenant.partner else None)
                for tenant in TENANTS
            }
        for tenant in TENANTS:
            organization, members = tenants[tenant.slug]
            if organization.tickets.exists():
                continue
            with transaction.atomic():
                for spec in sorted(DEMO_TICKETS[tenant.slug], key=lambda t: -t.ago):
                    self._ticket(organization, members, staff, spec)
                # The demo's invented history has already "happened": it sends no e-mail.
                # Only what the workers do from now on (escalations, downgrades) does —
                # and the latest resolution of a request nobody rated yet, so the resolved
                # e-mail with its one-click ratings is in the demo's mail at first start.
                last_resolved = (
                    Event.objects.filter(
                        organization=organization,
                        kind=EventKind.RESOLVED,
                        ticket__status=Status.RESOLVED,
                        ticket__rating__isnull=True,
                    )
                    .order_by("-created_at", "-pk")
                    .values_list("pk", flat=True)
                    .first()
                )
                history = Event.objects.filter(organization=organization, delivered_at__isnull=True)
                if last_resolved is not None:
                    history = history.exclude(pk=last_resolved)
                history.update(delivered_at=self.now)

        self._macros()
        self._contoso_policy(tenants[CONTOSO.slug][0], staff["supervisor"])
        self.created.update(seed_help_center(now=self.now))
        return SeedReport(_logins(tenants), self.created, self.updated)

    # --- Reference data -----------------------------------------------------------------

    def _ensure[ModelT: models.Model](
        self,
        model: type[ModelT],
        lookup: dict[str, Any],
        values: dict[str, Any],
        *,
        on_create: dict[str, Any] | None = None,
    ) -> ModelT:
        """The row matching ``lookup``, created or brought up to ``values``.

        A row that already matches is not saved at all, so a second run writes nothing.
        ``on_create`` values (timestamps relative to now) are used for a new row only."""
        label = str(model._meta.verbose_name_plural)
        row = model._default_manager.filter(**lookup).first()
        if row is None:
            row = model(**lookup, **values, **(on_create or {}))
            if isinstance(row, User):
                row.set_password(DEMO_PASSWORD)
            row.save()
            self.created[label] += 1
            return row
        changed = [
            name
            for name, value in values.items()
            if not _same(model._meta.get_field(name), getattr(row, name), value)
        ]
        if changed:
            for name in changed:
                setattr(row, name, values[name])
            row.save(update_fields=changed)
            self.updated[label] += 1
        return row

    def _macros(self) -> None:
        """The canned replies agents insert into the composer, in both languages."""
        for macro in MACROS:
            self._ensure(
                Macro,
                {"language": macro.language, "name": macro.name},
                {"body": macro.body, "position": macro.position, "is_active": True},
            )

    def _user(self, person: Person) -> User:
        return self._ensure(
            User,
            {"email": person.email},
            {
                "full_name": person.full_name,
                "language": person.language,
                "phone": person.phone,
                "staff_role": person.staff_role,
                "is_staff": person.is_staff,
                "is_superuser": person.is_superuser,
                "is_active": True,
            },
        )

    def _supervisors_group(self, supervisor: User) -> None:
        group, created = Group.objects.get_or_create(name=SUPERVISORS_GROUP)
        if created:
            self.created["groups"] += 1
        wanted = Q(codename__in=SUPERVISOR_EXTRA_PERMISSIONS, content_type__app_label="tenants")
        for app_label, actions in SUPERVISOR_PERMISSIONS.items():
            for action in actions:
                wanted |= Q(content_type__app_label=app_label, codename__startswith=f"{action}_")
        permissions = set(Permission.objects.filter(wanted))
        if set(group.permissions.all()) != permissions:
            group.permissions.set(permissions)
            if not created:
                self.updated["groups"] += 1
        if not supervisor.groups.filter(pk=group.pk).exists():
            supervisor.groups.add(group)
            self.created["group memberships"] += 1

    def _tenant(
        self, tenant: Tenant, partner: Partner | None
    ) -> tuple[Organization, dict[str, Membership]]:
        organization = self._ensure(
            Organization,
            {"slug": tenant.slug},
            {
                "name": tenant.name,
                "contract": tenant.contract,
                "country": tenant.country,
                "time_zone": tenant.time_zone,
                "partner": partner,
            },
        )
        for contact in tenant.phones:
            self._ensure(
                RegisteredPhone,
                {"organization": organization, "number": contact.value},
                {"label": contact.label},
                on_create=self._registration_times(contact),
            )
        for contact in tenant.emails:
            self._ensure(
                RegisteredEmail,
                {"organization": organization, "email": contact.value},
                {"label": contact.label},
                on_create=self._registration_times(contact),
            )
        members = {
            key: self._ensure(
                Membership,
                {"user": self._user(person), "organization": organization},
                {"role": role},
            )
            for key, (person, role) in tenant.members.items()
        }
        return organization, members

    def _registration_times(self, contact: Contact) -> dict[str, datetime]:
        if contact.usable:
            registered = self.now - 30 * D
            return {"created_at": registered, "active_from": registered + 2 * D}
        # Registered just now: still in its 48-hour cool-off (the model's default).
        return {"created_at": self.now}

    # --- Contoso's own SLA policy, through the editor's services -------------------------

    def _contoso_policy(self, contoso: Organization, supervisor: User) -> None:
        """Contoso's premium terms, published and assigned to Contoso after its requests
        were filed, with its open requests re-measured: the desk then shows a policy
        per organization, its version history and audit trail, and a finished re-measure."""
        policy = SlaPolicy.objects.filter(name=CONTOSO_POLICY_NAME).first()
        if policy is None:
            policy = policy_services.policy_create(
                name=CONTOSO_POLICY_NAME,
                description=CONTOSO_POLICY_DESCRIPTION,
                contract="",
                actor=supervisor,
                now=self.now,
            )
            self.created[str(SlaPolicy._meta.verbose_name_plural)] += 1
        if policy.current_version_id is None:
            draft = policy.versions.filter(published_at__isnull=True).first()
            if draft is None:
                draft = policy_services.version_draft(policy=policy, actor=supervisor, now=self.now)
            draft = policy_services.draft_update(
                version=draft,
                steps=policy_services.Steps(
                    warning_share=draft.warning_share,
                    second_escalation_factor=draft.second_escalation_factor,
                    notify_supervisors=draft.notify_supervisors,
                    duty_emails=draft.duty_emails,
                ),
                targets=[
                    policy_services.TargetValues(
                        severity=t.severity,
                        category=t.category,
                        calendar=t.calendar,
                        first_response=CONTOSO_CHANGES.get((t.severity, t.category), {}).get(
                            "first_response", t.first_response
                        ),
                        update_cadence=t.update_cadence,
                        cooperation_window=t.cooperation_window,
                    )
                    for t in draft.targets.select_related("calendar")
                ],
                note=CONTOSO_POLICY_NOTE,
                actor=supervisor,
                now=self.now,
            )
            policy_services.version_publish(
                version=draft, actor=supervisor, apply_to_open=False, now=self.now
            )
            self.created[str(SlaPolicyVersion._meta.verbose_name_plural)] += 1
        if contoso.sla_policy_id != policy.pk:
            job = policy_services.organization_set_policy(
                organization=contoso,
                policy=policy,
                actor=supervisor,
                apply_to_open=True,
                now=self.now,
            )
            assert job is not None
            # Done here rather than left to a worker, so the demo's job page shows a
            # finished re-measure (a worker handed the same job finds it taken).
            remeasure_run(job.pk)
            self.created["SLA re-measures"] += 1

    # --- Tickets, through the services only ---------------------------------------------

    def _ticket(
        self,
        organization: Organization,
        members: dict[str, Membership],
        staff: dict[str, User],
        spec: DemoTicket,
    ) -> Ticket:
        filed = self.now - spec.ago
        member = members[spec.filer]
        person = member.user
        actor = (
            Actor.for_user(staff[spec.phoned_to]) if spec.phoned_to else Actor.for_member(member)
        )
        draft = TicketDraft(
            title=spec.title,
            description=spec.description,
            category=spec.category,
            impact=spec.impact,
            scope=spec.scope,
            product=Service.objects.get(slug=spec.product),
            business_impact=spec.business_impact,
            contact_24x7=spec.contact_24x7,
            contact_phone=str(person.phone) if person.phone else None,
            contact_email=person.email,
            preferred_contact=spec.preferred_contact,
            language=person.language,
            channel=Channel.PHONE if spec.phoned_to else Channel.WEB,
            caller_phone=str(person.phone) if spec.phoned_to and person.phone else None,
        )
        # The portal assesses in the filer's language; the seed does the same.
        with translation.override(person.language):
            ticket = ticket_create(organization=organization, actor=actor, draft=draft, now=filed)
        self.created[str(Ticket._meta.verbose_name_plural)] += 1

        last = filed
        customer = Actor.for_member(member)
        for step in spec.steps:
            at = filed + step.after
            if at < last or at > self.now:
                raise DemoDataError(
                    f"Demo ticket {spec.title!r}: step {step.action!r} at +{step.after} is "
                    "out of order or in the future."
                )
            last = at
            by = customer if step.by == CUSTOMER else Actor.for_user(staff[step.by])
            _step(ticket, step, by, staff, at)
        return ticket


def _step(ticket: Ticket, step: Step, by: Actor, staff: dict[str, User], at: datetime) -> None:
    match step.action:
        case "claim":
            ticket_assign(ticket=ticket, actor=by, assignee=by.user, now=at)
        case "assign":
            ticket_assign(ticket=ticket, actor=by, assignee=staff[step.to], now=at)
        case "reply":
            ticket_agent_reply(ticket=ticket, actor=by, body=step.text, now=at)
        case "ask":
            ticket_request_information(ticket=ticket, actor=by, body=step.text, now=at)
        case "answer":
            ticket_customer_reply(ticket=ticket, actor=by, body=step.text, now=at)
        case "note":
            ticket_internal_note(ticket=ticket, actor=by, body=step.text, now=at)
        case "resolve":
            ticket_resolve(ticket=ticket, actor=by, reason=step.text, now=at)
        case "rate":
            ticket_rate(ticket=ticket, actor=by, score=step.score, comment=step.text, now=at)
        case "close":
            ticket_close(ticket=ticket, actor=by, now=at)
        case _:
            raise DemoDataError(f"Unknown demo step {step.action!r}.")


def _logins(tenants: dict[str, tuple[Organization, dict[str, Membership]]]) -> list[Login]:
    logins = [
        Login(STAFF["root"].email, "Superuser", "/admin/"),
        Login(STAFF["supervisor"].email, "Supervisor (desk and admin)", "/desk/, /admin/"),
        Login(STAFF["agent1"].email, "Support agent", "/desk/"),
        Login(STAFF["agent2"].email, "Support agent", "/desk/"),
    ]
    for tenant in TENANTS:
        organization, members = tenants[tenant.slug]
        for membership in members.values():
            language = " (Polski)" if membership.user.language == "pl" else ""
            logins.append(
                Login(
                    membership.user.email,
                    f"{organization.name} – {membership.get_role_display()}{language}",
                    f"/portal/{organization.slug}/",
                )
            )
    return logins


def _same(field: models.Field | ForeignObjectRel, current: Any, wanted: Any) -> bool:
    if field.is_relation or not isinstance(field, models.Field):
        current_pk = current.pk if current is not None else None
        wanted_pk = wanted.pk if wanted is not None else None
        return bool(current_pk == wanted_pk)
    return bool(field.get_prep_value(current) == field.get_prep_value(wanted))
