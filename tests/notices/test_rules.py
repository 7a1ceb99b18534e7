"""Staff notices, service tier: who is told of which Event, once, never of their own
action; e-mail per preference; followers and colleagues kept informed (issue 14)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail

from notices import services as notices
from notices.models import NoticeKind, StaffNotice, TicketCc
from tenants.models import Membership
from tests.conftest import T0, World
from tests.factories import AgentFactory, MembershipFactory, UserFactory, set_duty_managers
from tickets import outbox, services
from tickets.actors import Actor
from tickets.models import Event, EventKind, Ticket

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)
H = timedelta(hours=1)
A_READY = {
    "impact": "service_down",
    "scope": "many",
    "business_impact": "Mail is down for the whole company.",
    "contact_24x7": "Duty IT +48 601 234 567",
}


@pytest.fixture(autouse=True)
def _config(settings: Any, db: None) -> None:
    settings.SITE_URL = "https://desk.example.test"
    set_duty_managers("duty@provider.test")


def last(ticket: Ticket, kind: str) -> Event:
    return ticket.events.filter(kind=kind).order_by("-created_at", "-pk")[0]


def deliver(*events: Event, now: datetime = T0 + H) -> int:
    return outbox.deliver_events([e.pk for e in events], now=now)


def told(event: Event) -> set[tuple[str, str]]:
    return {
        (notice.recipient.email, notice.kind)
        for notice in StaffNotice.objects.filter(event=event).select_related("recipient")
    }


def mailed(messages: list[mail.EmailMessage]) -> list[str]:
    return sorted(address.lower() for message in messages for address in message.to)


def agent(world: World) -> Actor:
    return Actor.for_user(world.agent)


def customer(world: World) -> Actor:
    return Actor.for_member(world.admin_a)


# --- who is told ----------------------------------------------------------------------------


def test_a_new_severity_a_request_tells_every_active_agent_and_supervisor(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    AgentFactory(email="gone@provider.test", is_active=False)
    urgent = world.file(**A_READY)
    ordinary = world.file()
    created = last(urgent, EventKind.CREATED)
    assert created.after["severity"] == "A"
    deliver(created, last(ordinary, EventKind.CREATED))
    assert told(created) == {
        ("agent@provider.test", NoticeKind.NEW_URGENT),
        ("supervisor@provider.test", NoticeKind.NEW_URGENT),
    }
    assert StaffNotice.objects.filter(ticket=ordinary).count() == 0
    staff_mail = [m for m in mailoutbox if "New Severity A request" in m.subject]
    assert mailed(staff_mail) == ["agent@provider.test", "supervisor@provider.test"]
    assert "gone@provider.test" not in mailed(mailoutbox)


def test_a_customer_reply_tells_the_assignee_and_followers_or_everyone_if_unassigned(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    colleague = AgentFactory(email="colleague@provider.test")
    unassigned = world.file(title="Nobody's")
    services.ticket_customer_reply(ticket=unassigned, actor=customer(world), body="?", now=T0)
    reply = last(unassigned, EventKind.CUSTOMER_REPLIED)
    deliver(reply)
    assert {email for email, _kind in told(reply)} == {
        "agent@provider.test",
        "supervisor@provider.test",
        "colleague@provider.test",
    }

    ticket = world.file()
    services.ticket_assign(ticket=ticket, actor=agent(world), assignee=world.agent, now=T0)
    notices.follow(ticket=ticket, agent=colleague, now=T0)
    services.ticket_customer_reply(ticket=ticket, actor=customer(world), body="Logs", now=T0 + M)
    reply = last(ticket, EventKind.CUSTOMER_REPLIED)
    mailoutbox.clear()
    deliver(reply)
    assert told(reply) == {
        ("agent@provider.test", NoticeKind.CUSTOMER_REPLIED),
        ("colleague@provider.test", NoticeKind.CUSTOMER_REPLIED),
    }
    assert mailed(mailoutbox) == ["agent@provider.test", "colleague@provider.test"]
    [mine] = [m for m in mailoutbox if m.to == ["agent@provider.test"]]
    [theirs] = [m for m in mailoutbox if m.to == ["colleague@provider.test"]]
    assert "which is assigned to you" in mine.body
    assert "which is assigned to you" not in theirs.body


def test_a_reopen_tells_the_assignee_and_followers(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    services.ticket_assign(ticket=ticket, actor=agent(world), assignee=world.agent, now=T0)
    services.ticket_resolve(ticket=ticket, actor=agent(world), reason="Fixed", now=T0 + M)
    services.ticket_reopen(
        ticket=ticket, actor=customer(world), reason="Still <broken>", now=T0 + 2 * M
    )
    reopened = last(ticket, EventKind.REOPENED)
    mailoutbox.clear()
    deliver(reopened)
    assert told(reopened) == {("agent@provider.test", NoticeKind.REOPENED)}
    [message] = mailoutbox
    assert message.subject == f"[{ticket.reference}] Request reopened: Cannot send mail"
    assert "Still <broken>" in message.body


def test_assignment_tells_the_new_assignee_unless_they_took_it(world: World) -> None:
    ticket = world.file()
    services.ticket_assign(ticket=ticket, actor=agent(world), assignee=world.agent, now=T0)
    took = last(ticket, EventKind.ASSIGNED)
    supervisor = Actor.for_user(world.supervisor)
    services.ticket_assign(ticket=ticket, actor=supervisor, assignee=world.supervisor, now=T0 + M)
    services.ticket_assign(ticket=ticket, actor=supervisor, assignee=world.agent, now=T0 + 2 * M)
    given = last(ticket, EventKind.ASSIGNED)
    deliver(took, given)
    assert told(took) == set()
    assert told(given) == {("agent@provider.test", NoticeKind.ASSIGNED)}


def test_warning_and_escalations_follow_the_levels(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    from tickets import sweep

    follower = AgentFactory(email="follower@provider.test")
    ticket = world.file(**A_READY)
    services.ticket_assign(ticket=ticket, actor=agent(world), assignee=world.agent, now=T0)
    notices.follow(ticket=ticket, agent=follower, now=T0)
    sweep.sweep(now=T0 + 46 * M, worker="test")
    warned = last(ticket, EventKind.WARNED)
    sweep.sweep(now=T0 + H, worker="test")
    level_1 = last(ticket, EventKind.ESCALATED)
    sweep.sweep(now=T0 + 2 * H + M, worker="test")
    level_2 = last(ticket, EventKind.ESCALATED)
    assert (level_1.after["level"], level_2.after["level"]) == (1, 2)
    mailoutbox.clear()
    StaffNotice.objects.all().delete()
    Event.objects.filter(pk__in=[warned.pk, level_1.pk, level_2.pk]).update(delivered_at=None)
    deliver(warned, level_1, level_2, now=T0 + 3 * H)
    assert told(warned) == {
        ("agent@provider.test", NoticeKind.WARNED),
        ("follower@provider.test", NoticeKind.WARNED),
    }
    assert {email for email, _kind in told(level_1)} == {
        "agent@provider.test",
        "follower@provider.test",
        "supervisor@provider.test",
    }
    assert {email for email, _kind in told(level_2)} == {
        "agent@provider.test",
        "follower@provider.test",
        "supervisor@provider.test",
    }
    level_2_mail = [m for m in mailoutbox if "level 2" in m.subject]
    assert mailed(level_2_mail) == [
        "agent@provider.test",
        "duty@provider.test",
        "follower@provider.test",
        "supervisor@provider.test",
    ]


def test_nobody_is_told_of_their_own_action(world: World) -> None:
    ticket = world.file()
    services.ticket_assign(ticket=ticket, actor=agent(world), assignee=world.agent, now=T0)
    notices.follow(ticket=ticket, agent=world.supervisor, now=T0)
    services.ticket_escalate(ticket=ticket, actor=agent(world), reason="Needs help", now=T0 + M)
    escalated = last(ticket, EventKind.ESCALATED)
    deliver(escalated)
    # The agent escalated: the supervisor (follower and supervisor) is told, they are not.
    assert told(escalated) == {("supervisor@provider.test", NoticeKind.ESCALATED)}

    services.ticket_assign(
        ticket=ticket, actor=Actor.for_user(world.supervisor), assignee=None, now=T0 + 2 * M
    )
    services.ticket_resolve(ticket=ticket, actor=agent(world), reason="ok", now=T0 + 3 * M)
    services.ticket_reopen(ticket=ticket, actor=agent(world), reason="not ok", now=T0 + 4 * M)
    reopened = last(ticket, EventKind.REOPENED)
    deliver(reopened)
    assert "agent@provider.test" not in {email for email, _kind in told(reopened)}
    assert told(reopened)  # the others are


def test_each_event_makes_one_notice_per_person_however_often_it_is_handed_over(
    world: World,
) -> None:
    ticket = world.file(**A_READY)
    services.ticket_customer_reply(ticket=ticket, actor=customer(world), body="?", now=T0)
    events = list(ticket.events.select_related("ticket__assignee").order_by("pk"))
    notices.notices_for_events(events, now=T0 + M)
    first = StaffNotice.objects.count()
    assert first == 4  # two agents, two Events
    again = list(ticket.events.select_related("ticket__assignee").order_by("pk"))
    notices.notices_for_events(again, now=T0 + 2 * M)
    notices.notices_for_events(again, now=T0 + 3 * M)
    assert StaffNotice.objects.count() == first
    # And through the outbox, whose retries hand the same Events over again.
    Event.objects.update(delivered_at=None)
    deliver(*events)
    Event.objects.update(delivered_at=None)
    deliver(*events)
    assert StaffNotice.objects.count() == first


def test_preference_off_stops_the_email_but_not_the_notice(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    notices.set_preferences(user=world.agent, email={"new_urgent": False})
    ticket = world.file(**A_READY)
    deliver(last(ticket, EventKind.CREATED))
    assert told(last(ticket, EventKind.CREATED)) == {
        ("agent@provider.test", NoticeKind.NEW_URGENT),
        ("supervisor@provider.test", NoticeKind.NEW_URGENT),
    }
    staff_mail = [m for m in mailoutbox if "New Severity A request" in m.subject]
    assert mailed(staff_mail) == ["supervisor@provider.test"]
    # Other kinds keep their e-mail.
    services.ticket_assign(
        ticket=ticket, actor=Actor.for_user(world.supervisor), assignee=world.agent, now=T0 + M
    )
    mailoutbox.clear()
    deliver(last(ticket, EventKind.ASSIGNED))
    assert mailed(mailoutbox) == ["agent@provider.test"]


def test_a_follower_who_is_no_agent_is_refused(world: World) -> None:
    ticket = world.file()
    with pytest.raises(notices.NoticeError) as refused:
        notices.follow(ticket=ticket, agent=world.admin_a.user, now=T0)
    assert refused.value.message == str(notices.ERR_NOT_AGENT)
    assert notices.unfollow(ticket=ticket, agent=world.agent, now=T0) is False


# --- CC --------------------------------------------------------------------------------------


def test_colleagues_kept_informed_get_the_public_updates_only(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    colleague = world.user_a.user  # a plain user may be kept informed (POL-WHO-1)
    notices.cc_add(ticket=ticket, user=colleague, actor=world.admin_a, now=T0)
    services.ticket_agent_reply(ticket=ticket, actor=agent(world), body="Try again", now=T0 + M)
    services.ticket_internal_note(ticket=ticket, actor=agent(world), body="hm", now=T0 + M)
    services.ticket_request_information(
        ticket=ticket, actor=agent(world), body="Logs?", now=T0 + 2 * M
    )
    services.ticket_resolve(ticket=ticket, actor=agent(world), reason="Done", now=T0 + 3 * M)
    mailoutbox.clear()
    deliver(*ticket.events.all())
    to_colleague = [m.subject for m in mailoutbox if colleague.email in m.to]
    assert len(to_colleague) == 3
    assert all(m.to == [world.admin_a.user.email] or colleague.email in m.to for m in mailoutbox)
    kinds = {
        subject.split("] ")[1].split(":")[0] for subject in to_colleague
    }  # agent reply, information request, resolution
    assert len(kinds) == 3
    assert not any("Request filed" in s or "received" in s for s in to_colleague)

    notices.cc_remove(ticket=ticket, user=colleague, actor=world.admin_a, now=T0 + 4 * M)
    services.ticket_reopen(ticket=ticket, actor=customer(world), reason="no", now=T0 + 5 * M)
    services.ticket_agent_reply(ticket=ticket, actor=agent(world), body="Again", now=T0 + 6 * M)
    mailoutbox.clear()
    deliver(last(ticket, EventKind.REPLIED))
    assert colleague.email not in mailed(mailoutbox)
    assert [change.action for change in ticket_cc_changes(ticket)] == ["added", "removed"]


def ticket_cc_changes(ticket: Ticket) -> list[Any]:
    from notices.models import CcChange

    return list(CcChange.objects.filter(ticket=ticket).order_by("pk"))


def test_another_organizations_user_cannot_be_kept_informed(world: World) -> None:
    ticket = world.file()
    with pytest.raises(notices.NoticeError) as refused:
        notices.cc_add(ticket=ticket, user=world.admin_b.user, actor=world.admin_a, now=T0)
    assert refused.value.code == "not_colleague"
    stranger = UserFactory()
    with pytest.raises(notices.NoticeError):
        notices.cc_add(ticket=ticket, user=stranger, actor=world.admin_a, now=T0)
    # Nor may another organization's admin add anyone to this ticket.
    with pytest.raises(notices.NoticeError):
        notices.cc_add(ticket=ticket, user=world.user_a.user, actor=world.admin_b, now=T0)
    assert not TicketCc.objects.exists()


def test_a_colleague_who_left_the_organization_is_no_longer_informed(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    leaver = MembershipFactory(organization=world.org_a, role="user").user
    notices.cc_add(ticket=ticket, user=leaver, actor=world.admin_a, now=T0)
    Membership.objects.filter(user=leaver).delete()
    services.ticket_agent_reply(ticket=ticket, actor=agent(world), body="Hi", now=T0 + M)
    mailoutbox.clear()
    deliver(last(ticket, EventKind.REPLIED))
    assert leaver.email not in mailed(mailoutbox)
    assert mailed(mailoutbox) == [world.admin_a.user.email]
