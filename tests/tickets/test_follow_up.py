"""Writing again after a request closed files a linked follow-up (ticket_follow_up),
through the one intake path; the portal offers it where "reopen" is no longer possible."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tenants.models import Role
from tests.conftest import T0, World
from tests.factories import MembershipFactory
from tickets import outbox
from tickets.actors import Actor
from tickets.errors import TicketError
from tickets.models import Channel, EventKind, Status, Ticket
from tickets.services import (
    ERR_CUSTOMER_ONLY,
    ERR_EMPTY_MESSAGE,
    ERR_FOLLOW_UP_OPEN,
    follow_up_title,
    needs_assessment,
    ticket_close,
    ticket_follow_up,
    ticket_resolve,
)

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def closed(world: World, **overrides: Any) -> Ticket:
    ticket = world.file(**overrides)
    agent = Actor.for_user(world.agent)
    ticket_resolve(ticket=ticket, actor=agent, reason="Fixed", now=T0)
    return ticket_close(ticket=ticket, actor=agent, now=T0 + timedelta(days=1))


def detail(ticket: Ticket) -> str:
    return reverse(
        "portal:request_detail", kwargs={"org": ticket.organization.slug, "number": ticket.pk}
    )


def test_a_follow_up_copies_the_closed_request_and_links_it(world: World) -> None:
    original = closed(
        world,
        impact="service_down",
        business_impact="Orders stop.",
        contact_24x7="Ops, +48 22 000 00 00",
        contact_phone="+48600100200",
        preferred_contact="phone",
        language="pl",
    )
    now = T0 + timedelta(days=20)
    follow_up = ticket_follow_up(
        ticket=original,
        actor=Actor.for_member(world.admin_a),
        body="  It is back since this morning.  ",
        now=now,
    )
    assert follow_up.pk != original.pk and follow_up.follow_up_of == original
    assert follow_up.status == Status.NEW and follow_up.created_at == now
    assert follow_up.description == "It is back since this morning."
    for field in (
        "organization_id",
        "category",
        "product_id",
        "impact",
        "scope",
        "business_impact",
        "contact_24x7",
        "contact_phone",
        "contact_email",
        "preferred_contact",
        "language",
    ):
        assert getattr(follow_up, field) == getattr(original, field), field
    # Assessed again from the same answers, as any new request.
    assert follow_up.severity == original.original_severity == "A"
    assert follow_up.channel == Channel.WEB
    # In the request's language.
    with translation.override("pl"):
        expected = gettext("Follow-up to %(reference)s: %(title)s") % {
            "reference": original.reference,
            "title": "Cannot send mail",
        }
    assert follow_up.title == expected
    event = original.events.get(kind=EventKind.FOLLOW_UP)
    assert event.after == {"follow_up": follow_up.reference, "ticket": follow_up.pk}
    assert original.events.customer_visible().filter(kind=EventKind.FOLLOW_UP).exists()
    created = follow_up.events.get(kind=EventKind.CREATED)
    assert created.after["follow_up_of"] == original.reference
    original.refresh_from_db()
    assert original.status == Status.CLOSED


def test_the_title_is_cut_to_the_field(world: World) -> None:
    original = closed(world, title="x" * 200)
    title = follow_up_title(original)
    assert len(title) == Ticket._meta.get_field("title").max_length
    assert title.startswith(f"Follow-up to {original.reference}: xxx") and title.endswith("…")


def test_a_request_that_can_still_be_reopened_is_not_followed_up(world: World) -> None:
    ticket = world.file()
    admin = Actor.for_member(world.admin_a)
    with pytest.raises(TicketError) as open_one:
        ticket_follow_up(ticket=ticket, actor=admin, body="Again", now=T0)
    assert open_one.value.message == str(ERR_FOLLOW_UP_OPEN)
    ticket_resolve(ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=T0)
    with pytest.raises(TicketError):
        ticket_follow_up(ticket=ticket, actor=admin, body="Again", now=T0 + timedelta(days=1))
    # Past the reopen window, resolved but not closed yet: the follow-up is the way.
    late = T0 + timedelta(days=15)
    follow_up = ticket_follow_up(ticket=ticket, actor=admin, body="Again", now=late)
    assert follow_up.follow_up_of_id == ticket.pk
    assert Ticket.objects.count() == 2


def test_who_may_file_a_follow_up(world: World) -> None:
    original = closed(world, contact_email="ops@alpha.example")
    later = T0 + timedelta(days=20)
    for outsider in (Actor.for_member(world.user_a), Actor.for_member(world.admin_b)):
        with pytest.raises(TicketError) as refused:
            ticket_follow_up(ticket=original, actor=outsider, body="Again", now=later)
        assert refused.value.message == str(ERR_CUSTOMER_ONLY)
    with pytest.raises(TicketError) as empty:
        ticket_follow_up(
            ticket=original, actor=Actor.for_member(world.admin_a), body=" ", now=later
        )
    assert empty.value.message == str(ERR_EMPTY_MESSAGE)
    # The request's contact address, answering by e-mail (POL-WHO-1).
    contact = Actor.for_contact_email(original.pk, "ops@alpha.example")
    follow_up = ticket_follow_up(
        ticket=original, actor=contact, body="Again", now=later, channel=Channel.EMAIL
    )
    assert follow_up.created_by is None and follow_up.channel == Channel.EMAIL
    # Its answers were copied from an assessed request: nothing left to ask.
    assert not needs_assessment(follow_up)


def test_the_intake_rules_still_apply(world: World) -> None:
    """A billing admin may not file the technical request another admin filed."""
    original = closed(world)
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    with pytest.raises(TicketError) as refused:
        ticket_follow_up(
            ticket=original,
            actor=Actor.for_member(billing),  # type: ignore[arg-type]
            body="Again",
            now=T0 + 20 * DAY,
        )
    assert refused.value.field == "category"
    assert Ticket.objects.count() == 1


def test_the_customer_is_told_the_new_request_follows_the_closed_one(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    original = closed(world)
    follow_up = ticket_follow_up(
        ticket=original, actor=Actor.for_member(world.admin_a), body="Again", now=T0 + 20 * DAY
    )
    outbox.deliver_events([follow_up.events.get(kind=EventKind.CREATED).pk], now=T0 + 20 * DAY)
    received = [m for m in mailoutbox if m.to == [world.admin_a.user.email]]
    assert len(received) == 1
    assert f"because {original.reference} can no longer be reopened" in received[0].body


# --- The portal -----------------------------------------------------------------------------


def test_the_closed_request_page_offers_a_follow_up(world: World) -> None:
    original = closed(world)
    client = Client()
    client.force_login(world.admin_a.user)
    page = client.get(detail(original)).content.decode()
    assert 'value="follow_up"' in page
    assert 'value="reopen"' not in page
    response = client.post(detail(original), {"action": "follow_up", "body": ""})
    assert response.status_code == 400
    assert response.context["follow_up_form"].errors["body"]
    response = client.post(detail(original), {"action": "follow_up", "body": "It is back."})
    follow_up = Ticket.objects.get(follow_up_of=original)
    assert response.status_code == 302 and response["Location"] == detail(follow_up)
    assert follow_up.description == "It is back." and follow_up.channel == Channel.WEB
    new_page = client.get(detail(follow_up)).content.decode()
    assert 'id="follow-up-of"' in new_page and original.reference in new_page
    old_page = client.get(detail(original)).content.decode()
    assert 'id="follow-ups"' in old_page and follow_up.reference in old_page
    assert 'data-event="follow_up"' in old_page


def test_the_reopen_card_says_what_happens_after_the_window(world: World) -> None:
    ticket = world.file()
    now = timezone.now()
    ticket_resolve(ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=now)
    client = Client()
    client.force_login(world.admin_a.user)
    page = client.get(detail(ticket)).content.decode()
    assert 'value="reopen"' in page and 'value="follow_up"' not in page
    assert "You can reopen it until" in page
    assert "It is closed automatically on" in page
    assert "writing again files a follow-up" in page


def test_a_follow_up_of_an_open_request_is_refused_on_the_page(world: World) -> None:
    ticket = world.file()
    client = Client()
    client.force_login(world.admin_a.user)
    response = client.post(detail(ticket), {"action": "follow_up", "body": "Again"})
    assert response.status_code == 400
    assert str(ERR_FOLLOW_UP_OPEN) in response.content.decode()
    assert Ticket.objects.count() == 1


def test_another_organizations_request_is_not_followed_up(world: World) -> None:
    theirs = world.file(world.admin_b)
    agent = Actor.for_user(world.agent)
    ticket_resolve(ticket=theirs, actor=agent, reason="", now=T0)
    ticket_close(ticket=theirs, actor=agent, now=T0)
    client = Client()
    client.force_login(world.admin_a.user)
    url = reverse("portal:request_detail", kwargs={"org": "alpha", "number": theirs.pk})
    assert client.post(url, {"action": "follow_up", "body": "Again"}).status_code == 404
    assert Ticket.objects.count() == 1
