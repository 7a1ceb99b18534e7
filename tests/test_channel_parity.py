"""One rule, one home: the same answers filed through the portal, the REST API and phone
intake get the same severity, the same reasons, the same refusals and the same Events
(tickets.intake). A rule one channel enforces and another does not fails here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from helpcenter.models import Service
from tenants.api_keys import api_key_create
from tenants.models import Membership, RegisteredPhone, Role
from tests.conftest import World
from tests.factories import MembershipFactory
from tickets.intake import ERR_NO_CONTACT, ERR_PHONE_FOR_PHONE, ERR_PRODUCT_REQUIRED
from tickets.models import Channel, Event, EventKind, Ticket
from verification.models import Call
from verification.services import call_start

REGISTERED = "+48 22 123 45 67"

BASE: dict[str, str] = {
    "title": "Nobody can send mail",
    "description": "Every outgoing message bounces since 9:00.",
    "category": "technical",
    "product": "exchange-online",
    "impact": "degraded",
    "scope": "many",
    "business_impact": "",
    "contact_24x7": "",
    "contact_phone": "+48 600 100 200",
    "contact_email": "ops@alpha.test",
    "preferred_contact": "email",
    "language": "en",
}

# What each channel is asked to file: (label, changes to BASE).
CASES = [
    ("a-with-duties", {"impact": "service_down", "business_impact": "Orders stop.",
                       "contact_24x7": "Ops, +48 22 000 00 00"}),
    ("a-without-duties", {"impact": "service_down"}),
    ("b", {}),
    ("c", {"impact": "minimal", "scope": "one"}),
    ("billing", {"category": "billing", "product": "", "impact": "minimal", "scope": "one"}),
    ("presales-capped", {"category": "presales", "product": "", "impact": "service_down"}),
]  # fmt: skip

# Answers every channel must refuse, on the same field, with the same message.
REFUSALS = [
    ("technical-needs-a-product", {"product": ""}, "product", ERR_PRODUCT_REQUIRED),
    ("no-contact", {"contact_phone": "", "contact_email": ""}, "contact_email", ERR_NO_CONTACT),
    (
        "phone-without-number",
        {"contact_phone": "", "preferred_contact": "phone"},
        "contact_phone",
        ERR_PHONE_FOR_PHONE,
    ),
]

Filer = Callable[[dict[str, str]], tuple[Ticket | None, dict[str, list[str]]]]


def _product_pk(slug: str) -> str:
    return str(Service.objects.get(slug=slug).pk) if slug else ""


@pytest.fixture
def portal(world: World) -> Filer:
    client = Client()
    client.force_login(world.admin_a.user)

    def file(answers: dict[str, str]) -> tuple[Ticket | None, dict[str, list[str]]]:
        before = set(Ticket.objects.values_list("pk", flat=True))
        data = {**answers, "product": _product_pk(answers["product"])}
        response = client.post(reverse("portal:request_new", kwargs={"org": "alpha"}), data)
        if response.status_code == 302:
            return Ticket.objects.exclude(pk__in=before).get(), {}
        assert response.status_code == 400, response.status_code
        errors = response.context["form"].errors
        return None, {field: [str(m) for m in messages] for field, messages in errors.items()}

    return file


def _api(world: World, role: str) -> Filer:
    issued = api_key_create(
        organization=world.org_a,
        name=f"parity {role}",
        role=role,
        created_by=world.admin_a.user,
        now=timezone.now(),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")

    def file(answers: dict[str, str]) -> tuple[Ticket | None, dict[str, list[str]]]:
        data: dict[str, Any] = {**answers, "product": answers["product"] or None}
        response = client.post("/api/v1/tickets/", data, format="json")
        if response.status_code == 201:
            return Ticket.objects.get(pk=int(response.json()["number"].split("-")[1])), {}
        assert response.status_code in (400, 403), (response.status_code, response.content)
        return None, response.json()["fields"]

    return file


@pytest.fixture
def api(world: World) -> Filer:
    return _api(world, Role.GLOBAL_ADMIN)


@pytest.fixture
def phone(world: World) -> Filer:
    now = timezone.now()
    RegisteredPhone.objects.create(
        organization=world.org_a,
        number=REGISTERED,
        label="Front desk",
        created_at=now - timedelta(days=30),
        active_from=now - timedelta(days=28),
    )
    # A registered number opens the account at once (POL-PIN-3).
    call: Call = call_start(
        agent=world.agent, organization=world.org_a, caller_number=REGISTERED, now=now
    )
    assert call.is_verified
    client = Client()
    client.force_login(world.agent)

    def file(answers: dict[str, str]) -> tuple[Ticket | None, dict[str, list[str]]]:
        before = set(Ticket.objects.values_list("pk", flat=True))
        data = {**answers, "product": _product_pk(answers["product"])}
        response = client.post(reverse("calls:intake", kwargs={"call": call.pk}), data)
        if response.status_code == 302:
            return Ticket.objects.exclude(pk__in=before).get(), {}
        errors = response.context["form"].errors
        return None, {field: [str(m) for m in messages] for field, messages in errors.items()}

    return file


CHANNELS = ("portal", "api", "phone")


def _filers(request: pytest.FixtureRequest) -> dict[str, Filer]:
    return {name: request.getfixturevalue(name) for name in CHANNELS}


def _created(ticket: Ticket) -> dict[str, Any]:
    event = Event.objects.get(ticket=ticket, kind=EventKind.CREATED)
    return {key: value for key, value in event.after.items() if key != "channel"}


@pytest.mark.parametrize(("label", "changes"), CASES, ids=[c[0] for c in CASES])
def test_the_same_answers_get_the_same_request_everywhere(
    world: World, request: pytest.FixtureRequest, label: str, changes: dict[str, str]
) -> None:
    filed = {}
    for name, file in _filers(request).items():
        ticket, errors = file({**BASE, **changes})
        assert ticket is not None, (name, errors)
        filed[name] = ticket
    assert {t.channel for t in filed.values()} == {Channel.WEB, Channel.API, Channel.PHONE}
    portal = filed["portal"]
    for name, ticket in filed.items():
        assert (ticket.severity, ticket.original_severity) == (
            portal.severity,
            portal.original_severity,
        ), name
        assert ticket.severity_reason == portal.severity_reason, name
        assert (ticket.category, ticket.product_id, ticket.impact, ticket.scope) == (
            portal.category,
            portal.product_id,
            portal.impact,
            portal.scope,
        ), name
        assert _created(ticket) == _created(portal), name
        # Every channel's request starts the same clocks, from its own filing time.
        assert ticket.response_due_at is not None or portal.response_due_at is None, name
        kinds = list(Event.objects.filter(ticket=ticket).values_list("kind", flat=True))
        assert kinds == [EventKind.CREATED], name


@pytest.mark.parametrize(
    ("label", "changes", "field", "message"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_every_channel_refuses_the_same_answers_on_the_same_field(
    world: World,
    request: pytest.FixtureRequest,
    label: str,
    changes: dict[str, str],
    field: str,
    message: object,
) -> None:
    for name, file in _filers(request).items():
        ticket, errors = file({**BASE, **changes})
        assert ticket is None, name
        assert errors.get(field) == [str(message)], (name, errors)
    assert not Ticket.objects.exists()
    assert not Event.objects.exists()


def test_a_role_that_may_not_file_a_category_is_refused_by_the_portal_and_the_api(
    world: World,
) -> None:
    """POL-WHO-2: a billing admin files billing and pre-sales only, through either channel
    (phone intake is an agent filing on the organization's behalf, POL-REQ-1)."""
    billing: Membership = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    client = Client()
    client.force_login(billing.user)
    page = client.post(
        reverse("portal:request_new", kwargs={"org": "alpha"}),
        {**BASE, "product": _product_pk("exchange-online")},
    )
    assert page.status_code == 400
    portal_message = [str(m) for m in page.context["form"].errors["category"]]
    _ticket, api_errors = _api(world, Role.BILLING_ADMIN)(dict(BASE))
    assert api_errors["category"] == portal_message
    assert not Ticket.objects.exists()


def test_the_api_preview_is_the_portals_live_panel(world: World) -> None:
    """One assessment preview: the portal's panel and the API's ``severity/assess/``."""
    from tickets.intake import preview

    answers = {**BASE, "impact": "service_down", "business_impact": "Orders stop."}
    issued = api_key_create(
        organization=world.org_a,
        name="preview",
        role=Role.BILLING_ADMIN,
        created_by=world.admin_a.user,
        now=timezone.now(),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    keys = ("category", "impact", "scope", "business_impact", "contact_24x7")
    body = client.post(
        "/api/v1/severity/assess/", {k: answers[k] for k in keys}, format="json"
    ).json()
    panel = preview(
        organization=world.org_a, role=Role.BILLING_ADMIN, answers=answers, now=timezone.now()
    )
    assert panel.assessment is not None
    assert body["severity"] == panel.assessment.severity.value
    assert [r["code"] for r in body["reasons"]] == [r.code for r in panel.assessment.reasons]
    assert body["a_possible"] is panel.a_possible is True
    assert body["may_file"] is False
    assert panel.refusal is not None
    assert body["refusal"] == panel.refusal.message
    assert body["expected_wait"] is not None


def test_a_customer_reopens_with_a_reason_from_the_portal_and_the_api(world: World) -> None:
    """The portal's form asks what is still wrong; the API and the service ask it too."""
    from tickets import services
    from tickets.actors import Actor
    from tickets.services import ERR_REOPEN_REASON

    ticket = world.file()
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=timezone.now()
    )
    issued = api_key_create(
        organization=world.org_a,
        name="reopen",
        role=Role.GLOBAL_ADMIN,
        created_by=world.admin_a.user,
        now=timezone.now(),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    url = f"/api/v1/tickets/{ticket.reference}/reopen/"
    refused = client.post(url, {"reason": "  "}, format="json")
    assert refused.status_code == 400
    assert refused.json()["fields"] == {"reason": [str(ERR_REOPEN_REASON)]}
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert client.post(url, {"reason": "Still bouncing"}, format="json").status_code == 200


def test_a_customer_reply_overtaken_by_support_is_held_by_the_portal_and_the_api(
    world: World,
) -> None:
    """Both channels take the newest entry the customer saw; support's answer after it
    holds the reply (409, the newer Events, nothing written), in the API even under an
    Idempotency-Key, which then records nothing: the retry with a fresh mark goes out."""
    from tickets import services
    from tickets.actors import Actor
    from tickets.models import Message

    ticket = world.file()
    issued = api_key_create(
        organization=world.org_a,
        name="stale",
        role=Role.GLOBAL_ADMIN,
        created_by=world.admin_a.user,
        now=timezone.now(),
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    detail = f"/api/v1/tickets/{ticket.reference}/"
    seen = api.get(detail).json()["latest_event"]
    assert seen == Event.objects.filter(ticket=ticket).latest("pk").pk
    portal = Client()
    portal.force_login(world.admin_a.user)
    page = reverse("portal:request_detail", kwargs={"org": "alpha", "number": ticket.pk})
    assert portal.get(page).context["newest_event_id"] == seen

    answer = services.ticket_agent_reply(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Try again now", now=timezone.now()
    )
    answered = Event.objects.get(ticket=ticket, kind=EventKind.REPLIED)

    held = api.post(
        f"{detail}messages/",
        {"body": "From the API", "based_on_event": seen},
        format="json",
        HTTP_IDEMPOTENCY_KEY="stale-1",
    )
    assert held.status_code == 409, held.content
    body = held.json()
    assert body["code"] == "stale"
    assert set(body) == {"code", "message", "fields", "events"}
    assert [(e["id"], e["kind"], e["actor"]) for e in body["events"]] == [
        (answered.pk, "replied", "support")
    ]

    form = {"action": "reply", "body": "From the portal", "seen_event": str(seen)}
    page_held = portal.post(page, form)
    assert page_held.status_code == 409
    assert [event.pk for event, _body in page_held.context["held"]] == [answered.pk]
    assert [b for _event, b in page_held.context["held"]] == [answer.body]
    assert "Try again now" in page_held.content.decode()
    assert 'name="send_anyway"' in page_held.content.decode()
    assert not Message.objects.filter(body__startswith="From the").exists()

    # The portal's "Send anyway"; the API's retry under the same key with a fresh mark.
    assert portal.post(page, {**form, "send_anyway": "1"}).status_code == 302
    fresh = api.get(detail).json()["latest_event"]
    sent = api.post(
        f"{detail}messages/",
        {"body": "From the API", "based_on_event": fresh},
        format="json",
        HTTP_IDEMPOTENCY_KEY="stale-1",
    )
    assert sent.status_code == 201, sent.content
    # The key's own reply is no news to it: the same mark still sends.
    again = api.post(
        f"{detail}messages/", {"body": "And more", "based_on_event": fresh}, format="json"
    )
    assert again.status_code == 201, again.content
    assert set(Message.objects.filter(ticket=ticket).values_list("body", flat=True)) >= {
        "From the portal",
        "From the API",
        "And more",
    }


def test_the_customer_schema_documents_the_stale_answer() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/tickets/{number}/messages/"]["post"]
    conflict = operation["responses"]["409"]["content"]["application/json"]
    assert "CustomerStaleReplyOut" in conflict["schema"]["$ref"]
    for media in ("application/json", "multipart/form-data"):
        ref = operation["requestBody"]["content"][media]["schema"]["$ref"].rsplit("/", 1)[1]
        assert "based_on_event" in schema["components"]["schemas"][ref]["properties"]
    detail = schema["paths"]["/api/v1/tickets/{number}/"]["get"]["responses"]["200"]
    ref = detail["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "latest_event" in schema["components"]["schemas"][ref]["properties"]
