"""The tickets endpoints: create with the portal's rules, list with filters and cursor
pagination, contact changes, the conversation, the timeline, the SLA ledger, the desk."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import NEW_TICKET, Keys
from tests.conftest import T0, World
from tickets.actors import Actor
from tickets.models import Event, EventKind, Ticket
from tickets.services import ticket_agent_reply, ticket_internal_note


def test_create_assesses_the_severity_like_the_portal(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    body = {
        **NEW_TICKET,
        "impact": "service_down",
        "business_impact": "Sales are blocked.",
        "contact_24x7": "+48 600 100 200",
        "contact_phone": "+48600100200",
        "preferred_contact": "phone",
    }
    created = client_a.post("/api/v1/tickets/", body, format="json").json()
    assert created["severity"] == "A"  # advanced contract, technical, statement + 24x7
    assert created["contact_phone"] == "+48600100200"
    assert created["response_due_at"] is not None
    # B has the standard contract: capped at B (POL-SEV-5).
    client_b = APIClient()
    client_b.credentials(HTTP_AUTHORIZATION=f"Bearer {keys.b_secret}")
    capped = client_b.post("/api/v1/tickets/", body, format="json").json()
    assert capped["severity"] == "B"
    assert "advanced support agreement" in capped["severity_reason"]


def test_the_preview_matches_what_filing_gives(keys: Keys, client_a: APIClient) -> None:
    answers = {"category": "billing", "impact": "service_down", "scope": "many"}
    preview = client_a.post("/api/v1/severity/assess/", answers, format="json").json()
    filed = client_a.post("/api/v1/tickets/", {**NEW_TICKET, **answers}, format="json").json()
    assert preview["severity"] == filed["severity"] == "B"
    assert preview["capped"] is True
    assert [r["code"] for r in preview["reasons"]][:2] == ["matrix", "cap_category"]
    assert Ticket.objects.count() == 1


def test_the_list_filters_orders_and_pages(world: World, keys: Keys, client_a: APIClient) -> None:
    for day in range(5):
        world.file(now=T0 + timedelta(days=day), title=f"day {day}", impact="minimal")
    world.file(now=T0 + timedelta(days=9), title="billing", category="billing")
    world.file(world.admin_b, title="not ours")

    page = client_a.get("/api/v1/tickets/?page_size=2").json()
    assert [t["title"] for t in page["results"]] == ["billing", "day 4"]
    second = client_a.get(page["next"]).json()
    assert [t["title"] for t in second["results"]] == ["day 3", "day 2"]

    oldest = client_a.get("/api/v1/tickets/?ordering=created_at&page_size=1").json()
    assert oldest["results"][0]["title"] == "day 0"
    severity_c = client_a.get("/api/v1/tickets/?severity=C").json()["results"]
    assert {t["title"] for t in severity_c} == {f"day {d}" for d in range(5)}
    billing = client_a.get("/api/v1/tickets/?category=billing").json()["results"]
    assert [t["title"] for t in billing] == ["billing"]
    ranged = client_a.get(
        "/api/v1/tickets/",
        {"created_after": (T0 + timedelta(days=1)).isoformat(),
         "created_before": (T0 + timedelta(days=2, hours=1)).isoformat()},
    ).json()["results"]  # fmt: skip
    assert [t["title"] for t in ranged] == ["day 2", "day 1"]
    statuses = client_a.get("/api/v1/tickets/?status=resolved").json()["results"]
    assert statuses == []


def test_listing_costs_a_fixed_number_of_queries(
    world: World, keys: Keys, client_a: APIClient, django_assert_max_num_queries: object
) -> None:
    for _ in range(30):
        world.file()
    # The key's first request from this address notes the address (audit trail); from
    # then on it costs nothing.
    client_a.get("/api/v1/tickets/?page_size=1")
    with django_assert_max_num_queries(3):  # type: ignore[operator]
        response = client_a.get("/api/v1/tickets/?page_size=100")
    assert len(response.json()["results"]) == 30


def test_creating_costs_a_bounded_number_of_queries(
    keys: Keys, client_a: APIClient, django_assert_max_num_queries: object
) -> None:
    client_a.post("/api/v1/tickets/", NEW_TICKET, format="json")  # warm the calendar cache
    # The key, the SLA target, the ticket (deadlines included) and its Event, plus the
    # savepoint pair the test's own transaction turns the service's atomic block into.
    with django_assert_max_num_queries(6):  # type: ignore[operator]
        assert client_a.post("/api/v1/tickets/", NEW_TICKET, format="json").status_code == 201


def test_contact_details_can_change_but_not_what_was_filed(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    ticket = world.file()
    url = f"/api/v1/tickets/{ticket.reference}/"
    changed = client_a.patch(
        url, {"contact_phone": "+48 600 100 300", "preferred_contact": "phone"}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["contact_phone"] == "+48600100300"
    event = Event.objects.get(kind=EventKind.CONTACT_CHANGED)
    assert event.after == {"contact_phone": "+48600100300", "preferred_contact": "phone"}
    refused = client_a.patch(url, {"title": "new", "severity": "A"}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["fields"]) == {"title", "severity"}
    no_way_back = client_a.patch(url, {"contact_phone": ""}, format="json")
    assert no_way_back.status_code == 400
    assert list(no_way_back.json()["fields"]) == ["contact_phone"]
    ticket.refresh_from_db()
    assert ticket.title == "Cannot send mail"


def test_the_conversation_and_timeline_hide_internal_things(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    ticket = world.file()
    agent = Actor.for_user(world.agent)
    ticket_internal_note(ticket=ticket, actor=agent, body="Customer is grumpy", now=T0)
    ticket_agent_reply(ticket=ticket, actor=agent, body="Looking into it.", now=T0)
    url = f"/api/v1/tickets/{ticket.reference}"
    reply = client_a.post(f"{url}/messages/", {"body": "Thanks!"}, format="json")
    assert reply.status_code == 201
    messages = client_a.get(f"{url}/messages/").json()
    assert [m["body"] for m in messages] == ["Looking into it.", "Thanks!"]
    assert messages[0]["author"] == world.agent.get_short_name()
    events = client_a.get(f"{url}/events/").json()
    kinds = [e["kind"] for e in events]
    assert kinds == ["created", "replied", "customer_replied"]
    text = str(events) + str(messages)
    assert "grumpy" not in text and world.agent.email not in text
    assert events[1]["actor"] == "support"


def test_the_sla_ledger(world: World, keys: Keys, client_a: APIClient) -> None:
    ticket = world.file()
    ledger = client_a.get(f"/api/v1/tickets/{ticket.reference}/sla/").json()
    assert ledger["severity"] == ticket.severity
    assert ledger["measuring"] == "first_response"
    assert ledger["segments"]
    assert ledger["target_seconds"] > 0


def test_resolve_reopen_rate(world: World, keys: Keys, client_a: APIClient) -> None:
    ticket = world.file()
    url = f"/api/v1/tickets/{ticket.reference}"
    assert (
        client_a.post(f"{url}/resolve/", {"reason": "Fixed"}, format="json").json()["status"]
        == "resolved"
    )
    assert (
        client_a.post(f"{url}/reopen/", {"reason": "Again"}, format="json").json()["status"]
        == "open"
    )
    client_a.post(f"{url}/resolve/", {}, format="json")
    rated = client_a.post(f"{url}/rate/", {"score": 5, "comment": "Great"}, format="json")
    assert rated.status_code == 201
    assert rated.json()["score"] == 5


def test_the_desk_queue_claim_assign_and_reply(
    world: World, keys: Keys, agent_client: APIClient
) -> None:
    first = world.file(impact="service_down", business_impact="x", contact_24x7="y")
    second = world.file(world.admin_b)
    queue = agent_client.get("/api/v1/desk/queue/").json()
    assert {t["number"] for t in queue} == {first.reference, second.reference}
    assert queue[0]["organization"] in {"alpha", "bravo"}

    claimed = agent_client.post(f"/api/v1/desk/tickets/{first.reference}/claim/").json()
    assert claimed["assignee"] == world.agent.email
    mine = agent_client.get("/api/v1/desk/queue/?mine=true").json()
    assert [t["number"] for t in mine] == [first.reference]

    handed = agent_client.post(
        f"/api/v1/desk/tickets/{first.reference}/assign/",
        {"assignee": world.supervisor.email}, format="json",
    )  # fmt: skip
    assert handed.status_code == 403  # only supervisors assign to others
    released = agent_client.post(
        f"/api/v1/desk/tickets/{first.reference}/assign/", {"assignee": None}, format="json"
    )
    assert released.json()["assignee"] is None
    unknown = agent_client.post(
        f"/api/v1/desk/tickets/{first.reference}/assign/",
        {"assignee": "nobody@example.test"}, format="json",
    )  # fmt: skip
    assert unknown.status_code == 400

    asked = agent_client.post(
        f"/api/v1/desk/tickets/{second.reference}/replies/",
        {"kind": "request_information", "body": "Which mailbox?"}, format="json",
    )  # fmt: skip
    assert asked.status_code == 201
    second.refresh_from_db()
    assert second.status == "awaiting_customer"


@pytest.mark.parametrize("path", ["health/incidents/", "articles/?q=mail"])
def test_self_help_lists(keys: Keys, client_a: APIClient, path: str) -> None:
    response = client_a.get(f"/api/v1/{path}")
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_incidents_come_from_the_help_centre(world: World, keys: Keys, client_a: APIClient) -> None:
    from helpcenter.models import Incident, Service

    service = Service.objects.first()
    assert service is not None
    Incident.objects.create(service=service, title="Mail delayed", impact="outage")
    listed = client_a.get("/api/v1/health/incidents/").json()
    assert [(i["title"], i["service"]) for i in listed] == [("Mail delayed", service.slug)]
    assert client_a.get("/api/v1/health/incidents/?service=nope").json() == []


def test_the_schema_and_docs_are_served(client: object) -> None:
    schema = client.get("/api/v1/schema/?format=json")  # type: ignore[attr-defined]
    assert schema.status_code == 200
    assert "/api/v1/tickets/" in schema.json()["paths"]
    for page in ("/api/v1/docs/", "/api/v1/redoc/"):
        response = client.get(page)  # type: ignore[attr-defined]
        assert response.status_code == 200
        # Served from the sidecar, not a CDN: works offline.
        assert b"cdn.jsdelivr" not in response.content
        assert b"/static/drf_spectacular_sidecar/" in response.content


def test_the_fast_ticket_rendering_equals_the_documented_serializer(world: World) -> None:
    from helpcenter.models import Service
    from tickets import serializers as io

    plain = world.file()
    full = world.file(
        contact_phone="+48600100200", preferred_contact="phone", product=Service.objects.first()
    )
    assert full.product is not None
    full.assignee = world.agent
    full.save()
    for ticket in (plain, full):
        fresh = Ticket.objects.select_related("organization", "product", "assignee").get(
            pk=ticket.pk
        )
        assert io.ticket_data(fresh) == dict(io.TicketOut(fresh).data)
        assert io.desk_ticket_data(fresh) == dict(io.DeskTicketOut(fresh).data)


@pytest.mark.parametrize(
    ("category", "impact", "scope"),
    [
        ("technical", "service_down", "many"),
        ("technical", "degraded", "one"),
        ("billing", "minimal", "one"),
        ("presales", "degraded", "many"),
    ],
)
def test_a_new_tickets_clocks_are_what_a_refresh_computes(
    world: World, category: str, impact: str, scope: str
) -> None:
    """The create path writes the deadlines in its INSERT (``opening_clocks``); recomputing
    them from the audit trail, as every later change does, finds nothing to change."""
    from tickets.clocks import refresh_clocks

    ticket = world.file(
        category=category, impact=impact, scope=scope, business_impact="x", contact_24x7="y"
    )
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.response_due_at is not None
    assert stored.next_action_at is not None
    snapshot = {f.attname: getattr(stored, f.attname) for f in Ticket._meta.concrete_fields}
    refresh_clocks(stored, now=T0)
    again = Ticket.objects.get(pk=ticket.pk)
    assert {f.attname: getattr(again, f.attname) for f in Ticket._meta.concrete_fields} == snapshot
