"""A request filed by e-mail is severity C until its admin completes the assessment in
the portal (POL-SEV-1): tickets.services.ticket_complete_assessment and its page."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpcenter.models import Service
from mailin.services import ingest
from tenants.models import Role
from tests.conftest import T0, World
from tests.factories import MembershipFactory
from tickets.actors import Actor
from tickets.errors import TicketError
from tickets.models import EventKind, Ticket
from tickets.reasons import REASON_ASSESSED_BY_EMAIL_FILER
from tickets.services import ERR_ALREADY_ASSESSED, needs_assessment, ticket_complete_assessment

pytestmark = pytest.mark.django_db

URGENT = {
    "category": "technical",
    "impact": "service_down",
    "scope": "many",
    "business_impact": "Nobody can send quotes to customers.",
    "contact_24x7": "Anna, +48 600 100 200",
}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def filed_by_email(world: World, sender: str | None = None) -> Ticket:
    message = EmailMessage()
    message["From"] = sender or world.admin_a.user.email
    message["To"] = "support@supportdesk.localhost"
    message["Subject"] = "Nobody can send mail"
    message["Message-ID"] = f"<new-{Ticket.objects.count()}@alpha.example>"
    message.set_content("Every message bounces since 9:00.")
    outcome = ingest(message.as_bytes(), now=T0, source="test")
    assert outcome.action == "filed", outcome.reason
    return Ticket.objects.get(pk=outcome.ticket_id)


def exchange() -> Service:
    return Service.objects.get(slug="exchange-online")


def test_the_admins_answers_assess_the_request_like_at_opening(world: World) -> None:
    ticket = filed_by_email(world)
    assert ticket.severity == "C"
    due_as_c = ticket.response_due_at
    assert needs_assessment(ticket)

    assessed = ticket_complete_assessment(
        ticket=ticket,
        actor=Actor.for_member(world.admin_a),
        product=exchange(),
        now=T0 + timedelta(minutes=5),
        **URGENT,
    )

    assert (assessed.severity, assessed.original_severity) == ("A", "A")
    assert (assessed.category, assessed.impact, assessed.scope) == (
        "technical",
        "service_down",
        "many",
    )
    assert assessed.response_due_at is not None and due_as_c is not None
    assert assessed.response_due_at < due_as_c
    event = assessed.events.get(kind=EventKind.SEVERITY_CHANGED)
    assert event.reason == REASON_ASSESSED_BY_EMAIL_FILER
    assert (event.before["severity"], event.after["severity"]) == ("C", "A")
    assert not needs_assessment(assessed)
    with pytest.raises(TicketError) as refused:
        ticket_complete_assessment(
            ticket=assessed, actor=Actor.for_member(world.admin_a), product=exchange(),
            now=T0, **URGENT,
        )  # fmt: skip
    assert refused.value.message == ERR_ALREADY_ASSESSED


def test_the_role_and_product_rules_of_filing_apply(world: World) -> None:
    ticket = filed_by_email(world)
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    with pytest.raises(TicketError) as refused:
        ticket_complete_assessment(
            ticket=ticket, actor=Actor.for_member(billing), product=exchange(), now=T0, **URGENT
        )
    assert refused.value.code == "forbidden_category"
    with pytest.raises(TicketError) as no_product:
        ticket_complete_assessment(
            ticket=ticket, actor=Actor.for_member(world.admin_a), product=None, now=T0, **URGENT
        )
    assert no_product.value.field == "product"
    ticket.refresh_from_db()
    assert ticket.severity == "C"


def test_only_an_admin_of_the_organization_and_only_for_e_mail_requests(world: World) -> None:
    ticket = filed_by_email(world)
    with pytest.raises(TicketError) as other_tenant:
        ticket_complete_assessment(
            ticket=ticket, actor=Actor.for_member(world.admin_b), product=exchange(), now=T0,
            **URGENT,
        )  # fmt: skip
    assert other_tenant.value.code == "forbidden"
    portal_request = world.file()
    with pytest.raises(TicketError) as not_email:
        ticket_complete_assessment(
            ticket=portal_request, actor=Actor.for_member(world.admin_a), product=exchange(),
            now=T0, **URGENT,
        )  # fmt: skip
    assert not_email.value.code == "illegal_transition"


def page(ticket: Ticket, org: str = "alpha") -> str:
    return reverse("portal:request_assess_email", kwargs={"org": org, "number": ticket.pk})


def test_the_page_asks_and_saves_the_assessment(world: World, client: Client) -> None:
    ticket = filed_by_email(world)
    client.force_login(world.admin_a.user)
    assert client.get(page(ticket)).status_code == 200

    refused = client.post(page(ticket), {**URGENT, "product": ""})
    assert refused.status_code == 400
    assert "Choose the product the problem is with." in refused.content.decode()

    saved = client.post(page(ticket), {**URGENT, "product": exchange().pk})
    assert saved.status_code == 302
    ticket.refresh_from_db()
    assert ticket.severity == "A"
    # Once assessed, the link says so and asks nothing.
    again = client.get(page(ticket))
    assert again.status_code == 200
    assert "already complete" in again.content.decode()
    assert f'action="{page(ticket)}"' not in again.content.decode()


def test_the_page_is_a_404_for_another_tenants_request(world: World, client: Client) -> None:
    ticket = filed_by_email(world)
    client.force_login(world.admin_b.user)
    assert client.get(page(ticket, org="bravo")).status_code == 404
    assert client.post(page(ticket, org="bravo"), URGENT).status_code == 404
    ticket.refresh_from_db()
    assert ticket.severity == "C"
