"""The cross-tenant route walk (DESIGN.md "Tenancy").

Every URL pattern must be classified. Every tenant route, called by organization A's
admin with organization B's slug or B's ids, answers 404 (never B's data); a plain
user of A gets the "ask your admin" page on admin-only routes (POL-WHO-1), not a 403;
desk routes do not exist for customers; the admin site sends customers to its login.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import World
from tickets.models import Ticket
from verification.models import Call

PUBLIC = "public"  # reachable without an organization: sign-in, language, landing
TENANT = "tenant"  # /portal/<org>/…: scoped by membership
DESK = "desk"  # provider staff only
ADMIN = "admin"  # Django admin, staff only
API = "api"  # /api/v1/…: JSON; the agent endpoints refuse customers

# Named routes outside a namespace that decides their class.
CLASSIFIED: dict[str, str] = {
    "home": PUBLIC,
    "healthz": PUBLIC,
    "favicon": PUBLIC,
    "metrics": PUBLIC,
    "login": PUBLIC,
    "logout": PUBLIC,
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC,
    "set_language": PUBLIC,
    # Development only: routed with DEBUG outside production (tests/test_dev_mail.py).
    "dev_mail": PUBLIC,
}
# Desk routes for supervisors only (tenants.access.supervisor_view): agents get 404.
SUPERVISOR_ONLY = {"desk:reports", "desk:reports_csv", "desk:audit", "desk:audit_csv"}
# Namespaces whose every route is for supervisors only: the SLA policy editor.
SUPERVISOR_NAMESPACES = {"slapolicies", "privacy"}
NAMESPACE_CLASS = {
    "portal": TENANT,
    "cc": TENANT,  # a request's "kept informed" page (notices)
    "desk": DESK,
    "calls": DESK,
    "notices": DESK,
    "mailin": DESK,  # the original e-mail of a reply
    "slapolicies": DESK,  # SLA policies and calendars (supervisors only)
    "privacy": DESK,  # exports and erasure (supervisors only)
    "privacy_portal": TENANT,  # the organization's privacy settings (global admins)
    # The one-click ratings of the resolved e-mail: the signed token is the only key
    # (tests/tickets/test_survey.py).
    "survey": PUBLIC,
    "admin": ADMIN,
    "api": API,
    # The signed-in person's own second factors, and the passkeys' JSON endpoints: no
    # organization and no one else's ids (tests/mfa).
    "mfa": PUBLIC,
    "otp_webauthn": PUBLIC,
}


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name" or the bare name, "" for unnamed
    namespace: str
    pattern: str
    params: tuple[str, ...]
    callback: object


def _params(entry: URLPattern | URLResolver) -> set[str]:
    return set(getattr(entry.pattern, "converters", {})) | set(entry.pattern.regex.groupindex)


def walk(
    patterns: list,  # type: ignore[type-arg]
    prefix: str = "",
    namespace: str = "",
    outer: frozenset[str] = frozenset(),
) -> Iterator[Route]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            yield from walk(
                entry.url_patterns, prefix + str(entry.pattern), inner, outer | _params(entry)
            )
        elif isinstance(entry, URLPattern):
            full = prefix + str(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            params = tuple(sorted(outer | _params(entry)))
            yield Route(name, namespace, full, params, entry.callback)


def routes() -> list[Route]:
    return list(walk(get_resolver().url_patterns))


def classify(route: Route) -> str | None:
    if route.namespace in NAMESPACE_CLASS:
        return NAMESPACE_CLASS[route.namespace]
    return CLASSIFIED.get(route.name)


def test_every_route_is_classified() -> None:
    unclassified = [r.pattern for r in routes() if classify(r) is None]
    assert unclassified == [], f"classify these routes in tests/test_route_walk.py: {unclassified}"


def test_tenant_routes_use_the_tenant_guard() -> None:
    for route in routes():
        if classify(route) == TENANT:
            assert getattr(route.callback, "tenant_route", False), route.pattern
            assert "org" in route.params, route.pattern
        if classify(route) == DESK:
            assert getattr(route.callback, "desk_route", False), route.pattern


def _url(route: Route, values: dict[str, object]) -> str:
    """Fill a route's parameters; a new parameter name must be taught here."""
    from django.urls import reverse

    missing = [p for p in route.params if p not in values]
    assert not missing, f"teach the route walk a value for {missing} ({route.pattern})"
    return reverse(route.name, kwargs={p: values[p] for p in route.params})


def _tenant_routes() -> list[Route]:
    return [r for r in routes() if classify(r) == TENANT]


@pytest.fixture
def tickets(world: World, settings: object, tmp_path: object) -> tuple[Ticket, Ticket]:
    settings.MEDIA_ROOT = str(tmp_path)  # type: ignore[attr-defined]
    return world.file(world.admin_a), world.file(world.admin_b)


def _values_for(world: World, ticket: Ticket, org_slug: str) -> dict[str, object]:
    """Ids owned by the ticket's organization, in the URL of ``org_slug``."""
    from tenants.models import RegisteredPhone

    phone, _ = RegisteredPhone.objects.get_or_create(
        organization=ticket.organization,
        number="+48600100123" if ticket.organization == world.org_a else "+48601200300",
    )
    return {
        "org": org_slug,
        "number": ticket.pk,
        "kind": "phone",
        "contact": phone.pk,
        **_self_help_ids(),
        **_portal_ids(world, ticket),
        **_integration_ids(ticket),
        **_privacy_ids(world, ticket),
    }


def _privacy_ids(world: World, ticket: Ticket) -> dict[str, object]:
    """A ready export of the ticket's organization, asked for by its global admin."""
    from privacy.models import ExportJob, ExportVia
    from tests.privacy.helpers import ready_export

    organization = ticket.organization
    job = ExportJob.objects.filter(
        organization=organization, requested_via=ExportVia.PORTAL
    ).first() or ready_export(
        requester=(world.admin_a if organization == world.org_a else world.admin_b).user,
        organization=organization,
        via=ExportVia.PORTAL,
    )
    return {"export": job.pk}


def _privacy_desk_ids(world: World) -> dict[str, object]:
    """The supervisor's own ready export, and a customer to erase."""
    from privacy.models import ExportVia
    from tests.privacy.helpers import ready_export

    job = ready_export(requester=world.supervisor, organization=world.org_a, via=ExportVia.DESK)
    return {"export": job.pk, "person": world.user_a.user.pk}


def _integration_ids(ticket: Ticket) -> dict[str, object]:
    """An API key, a webhook endpoint and one of its deliveries of the ticket's organization."""
    from django.utils import timezone

    from tenants.api_keys import api_key_create
    from tenants.credentials import ApiKey
    from webhooks.models import WebhookEndpoint
    from webhooks.services import deliveries_for_events, endpoint_create

    organization, now = ticket.organization, timezone.now()
    key = (
        ApiKey.objects.filter(organization=organization).first()
        or api_key_create(
            organization=organization, name="walk", role="global_admin", created_by=None, now=now
        ).credential
    )
    endpoint = WebhookEndpoint.objects.filter(organization=organization).first()
    if endpoint is None:
        endpoint = endpoint_create(
            organization=organization, url="http://127.0.0.1:9/walk",
            event_types=["ticket.created"], description="", created_by=None, now=now,
        ).endpoint  # fmt: skip
        deliveries_for_events(list(ticket.events.all()), now=now)
    delivery = endpoint.deliveries.first()
    assert delivery is not None
    return {"key": key.pk, "endpoint": endpoint.pk, "delivery": delivery.pk}


def _portal_ids(world: World, ticket: Ticket) -> dict[str, object]:
    """An attachment of the ticket, and a member of its organization (for A: the plain
    user, whom A's global admin may manage)."""
    from django.core.files.base import ContentFile

    from tickets.models import Attachment

    attachment = Attachment.objects.filter(ticket=ticket).first()
    if attachment is None:
        attachment = Attachment(
            organization=ticket.organization,
            ticket=ticket,
            original_name="trace.txt",
            content_type="text/plain; charset=utf-8",
            size=5,
        )
        attachment.file.save("trace.txt", ContentFile(b"trace"), save=True)
    member = world.user_a if ticket.organization == world.org_a else world.admin_b
    return {"attachment": attachment.pk, "member": member.pk}


def _self_help_ids() -> dict[str, object]:
    """Incidents and help articles belong to no tenant: every member reads the same ones
    (POL-SELF-3), so only another tenant's slug makes these routes 404."""
    from helpcenter.models import Article, Incident, Service

    incident, _ = Incident.objects.get_or_create(
        title="Mail delays", defaults={"service": Service.objects.first()}
    )
    article, _ = Article.objects.get_or_create(
        slug="reset-a-password", defaults={"title": "Reset a password", "is_published": True}
    )
    return {"incident": incident.pk, "article": article.slug}


def test_tenant_routes_answer_404_with_another_tenants_ids(
    world: World, tickets: tuple[Ticket, Ticket], client: Client
) -> None:
    ticket_a, ticket_b = tickets
    client.force_login(world.admin_a.user)
    checked = 0
    for route in _tenant_routes():
        # B's slug, with B's ids.
        foreign = _url(route, _values_for(world, ticket_b, world.org_b.slug))
        # A's own slug, with B's ids (only routes that take an id).
        mixed = _url(route, _values_for(world, ticket_b, world.org_a.slug))
        own = _url(route, _values_for(world, ticket_a, world.org_a.slug))
        assert client.get(own).status_code == 200, own
        for url in {foreign, mixed} - {own}:
            for method in (client.get, client.post):
                response = method(url)
                assert response.status_code == 404, (route.pattern, url, method)
                assert world.org_b.name.encode() not in response.content, url
                checked += 1
    assert checked >= 2 * len(_tenant_routes())


def test_plain_user_gets_the_ask_your_admin_page(
    world: World, tickets: tuple[Ticket, Ticket], client: Client
) -> None:
    ticket_a, _ = tickets
    client.force_login(world.user_a.user)
    admin_only = [r for r in _tenant_routes() if getattr(r.callback, "admin_only", True)]
    assert admin_only, "there must be admin-only tenant routes"
    for route in admin_only:
        response = client.get(_url(route, _values_for(world, ticket_a, world.org_a.slug)))
        assert response.status_code == 200, route.pattern
        assert "portal/ask_admin.html" in [t.name for t in response.templates], route.pattern
        assert ticket_a.title.encode() not in response.content


@pytest.fixture
def agent_call(world: World) -> Call:
    """A verified (registered-number) call of the agent, so every calls page answers 200."""
    from django.utils import timezone

    from tenants.models import RegisteredPhone
    from verification.services import call_start

    now = timezone.now()
    RegisteredPhone.objects.create(
        organization=world.org_a, number="+48600100123", active_from=now - timedelta(days=3)
    )
    return call_start(
        agent=world.agent, organization=world.org_a, caller_number="+48600100123", now=now
    )


def _incoming_mail(world: World, ticket: Ticket) -> object:
    """A customer's answer by e-mail on the ticket, so its original answers 200."""
    from email.message import EmailMessage

    from django.utils import timezone

    from mailin.models import IncomingMail
    from mailin.services import ingest
    from tickets.mail import reply_address

    sender = world.admin_a.user.email
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reply_address(ticket.pk, sender)
    message["Subject"] = "Re: walk"
    message["Message-ID"] = "<walk@alpha.example>"
    message.set_content("Thanks.")
    ingest(message.as_bytes(), now=timezone.now(), source="test")
    return IncomingMail.objects.get(ticket=ticket)


def _supervisor_only(route: Route) -> bool:
    return route.name in SUPERVISOR_ONLY or route.namespace in SUPERVISOR_NAMESPACES


def _sla_ids() -> dict[str, object]:
    """A policy, its version, a calendar, a re-measure job and a review preview for the
    SLA editor's routes."""
    from django.utils import timezone

    from severity.models import Calendar, SlaPolicy
    from slapolicies.models import ReviewPreview
    from tickets.models import RemeasureJob, RemeasureKind

    policy = SlaPolicy.objects.default()
    calendar = Calendar.objects.order_by("pk").first()
    assert calendar is not None
    job = RemeasureJob.objects.create(
        kind=RemeasureKind.POLICY, version=policy.current_version, created_at=timezone.now()
    )
    preview = ReviewPreview.objects.create(version=policy.current_version, fingerprint="walk")
    return {
        "policy": policy.pk,
        "version": policy.current_version_id,
        "calendar": calendar.pk,
        "job": job.pk,
        "preview": preview.pk,
    }


def test_desk_routes_do_not_exist_for_customers(
    world: World, tickets: tuple[Ticket, Ticket], client: Client, agent_call: Call
) -> None:
    ticket_a, _ = tickets
    desk = [r for r in routes() if classify(r) == DESK]
    assert desk
    from tickets.models import SavedView

    view = SavedView.objects.create(user=world.agent, name="Mine", query="assignee=me")
    values = {
        **_values_for(world, ticket_a, world.org_a.slug),
        "call": agent_call.pk,
        "view": view.pk,
        "report": "severity",
        "mail": _incoming_mail(world, ticket_a).pk,
        **_sla_ids(),
        **_privacy_desk_ids(world),
    }
    client.force_login(world.admin_a.user)
    for route in desk:
        url = _url(route, values)
        assert client.get(url).status_code == 404, url
    client.force_login(world.agent)
    for route in desk:
        url = _url(route, values)
        # 405: a POST-only action (changing severity) answers GET with "method not allowed".
        expected = (404,) if _supervisor_only(route) else (200, 405)
        assert client.get(url).status_code in expected, url
    client.force_login(world.supervisor)
    for route in desk:
        if _supervisor_only(route):
            # 405: a POST-only action (adding a holiday) answers GET with "not allowed".
            assert client.get(_url(route, values)).status_code in (200, 405), route.pattern
    # Another agent's call is not theirs to see.
    from tests.factories import AgentFactory

    client.force_login(AgentFactory())
    for route in desk:
        if "call" in route.params:
            assert client.get(_url(route, values)).status_code == 404, route.pattern


def test_anonymous_visitors_are_sent_to_sign_in(world: World, client: Client) -> None:
    for route in routes():
        if classify(route) not in (TENANT, DESK):
            continue
        values = {
            "org": world.org_a.slug,
            "number": 1,
            "kind": "phone",
            "contact": 1,
            "call": 1,
            "incident": 1,
            "article": "x",
            "attachment": 1,
            "member": 1,
            "view": 1,
            "report": "severity",
            "key": 1,
            "endpoint": 1,
            "delivery": 1,
            "mail": 1,
            "policy": 1,
            "version": 1,
            "calendar": 1,
            "job": 1,
            "preview": 1,
            "export": 1,
            "person": 1,
        }
        url = _url(route, values)
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_admin_site_is_for_staff_only(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    client.force_login(world.supervisor)
    assert client.get("/admin/").status_code == 200


def test_agent_api_refuses_customers_and_other_agents_calls(world: World, client: Client) -> None:
    from django.utils import timezone

    from tests.factories import AgentFactory
    from verification.services import call_start

    own = call_start(
        agent=world.agent, organization=world.org_a, caller_number="+48 600 100 200",
        now=timezone.now(),
    )  # fmt: skip
    other_agent = AgentFactory()
    # The telephony routes; the rest of the API has its own cross-tenant probe over the
    # OpenAPI schema (tests/api/test_cross_tenant.py). To customers the agent endpoints do
    # not exist (404, like the desk); without credentials the answer is 401.
    api = [r for r in routes() if classify(r) == API and r.name.startswith("api:call-")]
    assert api
    values = {"call_id": own.pk}
    for who, expected in ((world.admin_a.user, 404), (None, 401), (other_agent, 404)):
        client.logout()
        if who is not None:
            client.force_login(who)
        for route in api:
            url = _url(route, values)
            if not route.params:
                continue  # starting a call names no id
            for method in (client.get, client.post):
                response = method(url)
                assert response.status_code in (expected, 405), (who, url, response.status_code)
                assert response["Content-Type"].startswith("application/json"), url
    client.force_login(world.agent)
    assert client.get(_url(next(r for r in api if r.params), values)).status_code == 200
