"""Staff notices, endpoint tier: the desk's bell, list, read marks, preferences and
Follow; the portal's "kept informed" page, with its cross-tenant 404s."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from notices import services as notices
from notices.models import NoticePreference, StaffNotice, TicketCc, TicketFollower
from tests.conftest import T0, World
from tickets import outbox
from tickets.models import EventKind, Ticket

pytestmark = pytest.mark.django_db

A_READY = {
    "impact": "service_down",
    "scope": "many",
    "business_impact": "Mail is down for the whole company.",
    "contact_24x7": "Duty IT +48 601 234 567",
}


def urgent(world: World, **overrides: Any) -> Ticket:
    ticket = world.file(**A_READY, **overrides)
    outbox.deliver_events(
        ticket.events.filter(kind=EventKind.CREATED).values_list("pk", flat=True),
        now=T0 + timedelta(minutes=1),
    )
    return ticket


def test_the_bell_counts_unread_notices_and_the_list_opens_them(
    world: World, client: Client
) -> None:
    ticket = urgent(world)
    client.force_login(world.agent)
    home = client.get(reverse("desk:home")).content.decode()
    assert 'id="notice-bell"' in home
    assert 'data-unread="1"' in home
    assert 'data-unread="1"' in client.get(reverse("notices:bell")).content.decode()

    page = client.get(reverse("notices:list")).content.decode()
    assert ticket.reference in page
    assert "New Severity A request" in page
    [notice] = StaffNotice.objects.filter(recipient=world.agent)
    response = client.post(reverse("notices:read"), {"notice": notice.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:ticket", kwargs={"number": ticket.pk})
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert 'data-unread="0"' in client.get(reverse("notices:bell")).content.decode()
    # The supervisor's notice of the same Event is still unread.
    assert StaffNotice.objects.filter(recipient=world.supervisor, read_at=None).count() == 1


def test_mark_all_read_and_nobody_elses_notice(world: World, client: Client) -> None:
    urgent(world, title="One")
    urgent(world, title="Two")
    client.force_login(world.agent)
    assert 'data-unread="2"' in client.get(reverse("notices:bell")).content.decode()
    theirs = StaffNotice.objects.filter(recipient=world.supervisor).first()
    assert theirs is not None
    assert client.post(reverse("notices:read"), {"notice": theirs.pk}).status_code == 404
    assert client.post(reverse("notices:read"), {"notice": "x"}).status_code == 404
    assert client.get(reverse("notices:read_all")).status_code == 405
    assert client.post(reverse("notices:read_all")).status_code == 302
    assert 'data-unread="0"' in client.get(reverse("notices:bell")).content.decode()
    assert StaffNotice.objects.filter(recipient=world.supervisor, read_at=None).count() == 2


def test_mark_all_read_needs_the_csrf_token(world: World) -> None:
    urgent(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.agent)
    assert client.post(reverse("notices:read_all")).status_code == 403
    assert StaffNotice.objects.filter(recipient=world.agent, read_at=None).count() == 1


def test_the_bell_costs_a_bounded_number_of_queries(
    world: World, client: Client, django_assert_max_num_queries: Any
) -> None:
    for i in range(5):
        urgent(world, title=f"Request {i}")
    client.force_login(world.agent)
    client.get(reverse("notices:bell"))  # warm the session
    # The session, the user, the session's second factor (mfa), the memberships every
    # signed-in request reads, the count.
    with django_assert_max_num_queries(5):
        response = client.get(reverse("notices:bell"))
    assert 'data-unread="5"' in response.content.decode()
    with django_assert_max_num_queries(7):
        client.get(reverse("notices:list"))


def test_the_desk_is_for_staff_only(world: World, client: Client) -> None:
    urgent(world)
    client.force_login(world.admin_a.user)
    for name in ("notices:list", "notices:bell", "notices:preferences"):
        assert client.get(reverse(name)).status_code == 404


def test_preferences_switch_an_email_off(world: World, client: Client) -> None:
    client.force_login(world.agent)
    page = client.get(reverse("notices:preferences"))
    assert page.status_code == 200
    fields = {
        "email_new_urgent": "",
        "email_customer_replied": "on",
        "email_reopened": "on",
        "email_assigned": "on",
        "email_warned": "on",
        "email_escalated": "on",
    }
    fields.pop("email_new_urgent")
    assert client.post(reverse("notices:preferences"), fields).status_code == 302
    preference = NoticePreference.objects.get(user=world.agent)
    assert preference.email_new_urgent is False
    assert preference.email_assigned is True


def test_an_agent_follows_and_unfollows_from_the_ticket_page(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    page = client.get(reverse("desk:ticket", kwargs={"number": ticket.pk})).content.decode()
    assert 'id="follow-form"' in page
    assert ">Follow<" in page
    url = reverse("notices:follow", kwargs={"number": ticket.pk})
    assert client.get(url).status_code == 405
    assert client.post(url, {"action": "follow"}).status_code == 302
    assert TicketFollower.objects.filter(ticket=ticket, user=world.agent).exists()
    page = client.get(reverse("desk:ticket", kwargs={"number": ticket.pk})).content.decode()
    assert ">Unfollow<" in page
    assert client.post(url, {"action": "unfollow"}).status_code == 302
    assert not TicketFollower.objects.exists()
    client.force_login(world.admin_a.user)
    assert client.post(url, {"action": "follow"}).status_code == 404


# --- the portal's "kept informed" ---------------------------------------------------------


def cc_url(org: str, number: int) -> str:
    return reverse("cc:manage", kwargs={"org": org, "number": number})


def test_an_admin_keeps_a_colleague_informed_and_removes_them(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.admin_a.user)
    detail = client.get(
        reverse("portal:request_detail", kwargs={"org": world.org_a.slug, "number": ticket.pk})
    ).content.decode()
    assert 'id="cc-summary"' in detail
    url = cc_url(world.org_a.slug, ticket.pk)
    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "add", "user": world.user_a.user.pk})
    assert response.status_code == 302
    assert TicketCc.objects.filter(ticket=ticket, user=world.user_a.user).exists()
    assert world.user_a.user.email in client.get(url).content.decode()
    response = client.post(url, {"action": "remove", "user": world.user_a.user.pk})
    assert response.status_code == 302
    assert not TicketCc.objects.exists()


def test_another_organizations_user_is_refused_on_the_form(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.admin_a.user)
    response = client.post(
        cc_url(world.org_a.slug, ticket.pk), {"action": "add", "user": world.admin_b.user.pk}
    )
    assert response.status_code == 400
    assert not TicketCc.objects.exists()


def test_cc_of_another_organizations_ticket_is_404(world: World, client: Client) -> None:
    theirs = world.file(world.admin_b)
    notices.cc_add(ticket=theirs, user=world.admin_b.user, actor=world.admin_b, now=T0)
    client.force_login(world.admin_a.user)
    for url in (cc_url(world.org_b.slug, theirs.pk), cc_url(world.org_a.slug, theirs.pk)):
        assert client.get(url).status_code == 404
        add = client.post(url, {"action": "add", "user": world.user_a.user.pk})
        assert add.status_code == 404
        remove = client.post(url, {"action": "remove", "user": world.admin_b.user.pk})
        assert remove.status_code == 404
    assert TicketCc.objects.filter(ticket=theirs).count() == 1


def test_a_plain_user_is_sent_to_their_admin(world: World, client: Client) -> None:
    ticket = world.file()
    client.force_login(world.user_a.user)
    response = client.post(
        cc_url(world.org_a.slug, ticket.pk), {"action": "add", "user": world.user_a.user.pk}
    )
    assert "portal/ask_admin.html" in [t.name for t in response.templates]
    assert not TicketCc.objects.exists()
