"""The notification outbox, service tier: who hears about what, in which language, and
that every Event is delivered after commit, retried, and never lost or sent twice."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connections, transaction
from kombu.exceptions import OperationalError

from tests.conftest import T0, World
from tests.factories import SupervisorFactory, set_duty_managers
from tickets import notifications, outbox, services, tasks
from tickets import sweep as sweeping
from tickets.actors import Actor
from tickets.models import ActorKind, Event, EventKind, Ticket

pytestmark = pytest.mark.django_db

M = timedelta(minutes=1)
H = timedelta(hours=1)
S = timedelta(seconds=1)
DUTY = "duty@provider.test"
A_READY = {
    "impact": "service_down",
    "scope": "many",
    "business_impact": "Mail is down for the whole company.",
    "contact_24x7": "Duty IT +48 601 234 567",
}


@pytest.fixture(autouse=True)
def _config(settings: Any, db: None) -> None:
    settings.SITE_URL = "https://desk.example.test"
    set_duty_managers(DUTY)
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK,
        DEADLINE_TASKS=False,
        # Publishing is switched on here; each test that publishes patches apply_async.
        OUTBOX_TASKS=True,
        OUTBOX_RETRY_AFTER_SECONDS=60,
    )


# --- helpers --------------------------------------------------------------------------------


def deliver(*events: Event, now: datetime = T0 + M) -> int:
    return outbox.deliver_events([e.pk for e in events], now=now)


def last(ticket: Ticket, kind: str) -> Event:
    return ticket.events.filter(kind=kind).order_by("-created_at", "-pk")[0]


def html(message: mail.EmailMessage) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(content)


def agent(world: World) -> Actor:
    return Actor.for_user(world.agent)


def customer(world: World) -> Actor:
    return Actor.for_member(world.admin_a)


def sweep(at: datetime) -> sweeping.SweepResult:
    return sweeping.sweep(now=at, worker="test")


# --- what each event tells whom ---------------------------------------------------------------


def test_created_confirms_to_the_contact_with_severity_reason_and_link(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    event = last(ticket, EventKind.CREATED)
    assert deliver(event) == 1
    [message] = mailoutbox
    assert message.to == [world.admin_a.user.email]
    assert message.subject == f"[{ticket.reference}] We received your request: Cannot send mail"
    link = f"https://desk.example.test/portal/alpha/requests/{ticket.pk}/"
    assert link in message.body
    assert "B – high" in message.body
    assert "Why this severity: " in message.body
    assert ticket.severity_reason in message.body
    assert f'href="{link}"' in html(message)
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    event.refresh_from_db()
    assert (event.delivered_at, event.delivery_attempts) == (T0 + M, 0)


def test_polish_request_gets_polish_mail_and_a_polish_severity_reason(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file(language="pl")
    deliver(last(ticket, EventKind.CREATED))
    [message] = mailoutbox
    assert (
        message.subject == f"[{ticket.reference}] Otrzymaliśmy Twoje zgłoszenie: Cannot send mail"
    )
    assert "Dzień dobry," in message.body
    assert "Ważność: B – wysoka" in message.body
    # The reasons are assessed again in Polish, not copied from the English filing.
    assert "ważność B (wysoka)" in message.body
    assert "Why this severity" not in message.body
    page = html(message)
    assert 'lang="pl"' in page
    assert "Otrzymaliśmy Twoje zgłoszenie" in page


def test_user_text_is_escaped_in_html_and_plain_in_text(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file(title="<script>alert(1)</script> & more")
    services.ticket_agent_reply(
        ticket=ticket, actor=agent(world), body='<img src=x onerror="x()">\nline two', now=T0 + M
    )
    deliver(last(ticket, EventKind.CREATED), last(ticket, EventKind.REPLIED))
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        page = html(message)
        assert "<script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
        assert "<script>alert(1)</script> & more" in message.subject
        assert "<script>alert(1)</script> & more" in message.body
    reply = mailoutbox[1]
    assert "&lt;img src=x onerror=&quot;x()&quot;&gt;<br>line two" in html(reply)
    assert "<img" not in html(reply)
    assert '<img src=x onerror="x()">\nline two' in reply.body


def test_agent_reply_and_information_request_quote_the_agent_to_the_customer(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    services.ticket_agent_reply(ticket=ticket, actor=agent(world), body="Restarting.", now=T0 + M)
    services.ticket_request_information(
        ticket=ticket, actor=agent(world), body="Send the trace.", now=T0 + 2 * M
    )
    deliver(last(ticket, EventKind.REPLIED), last(ticket, EventKind.INFORMATION_REQUESTED))
    replied, asked = mailoutbox
    assert replied.to == asked.to == [world.admin_a.user.email]
    assert replied.subject == f"[{ticket.reference}] Support replied: Cannot send mail"
    assert "Restarting." in replied.body and "Restarting." in html(replied)
    assert asked.subject == f"[{ticket.reference}] Information needed: Cannot send mail"
    assert "Send the trace." in asked.body
    ticket.refresh_from_db()
    assert ticket.customer_due_at is not None
    assert "Please reply by " in asked.body
    assert "Warsaw time" in asked.body  # the organization's own time zone, in words


def test_an_internal_note_never_reaches_the_customer(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    note = services.ticket_internal_note(
        ticket=ticket, actor=agent(world), body="Customer is difficult", now=T0 + M
    )
    noted = last(ticket, EventKind.NOTED)
    # A forged REPLIED event pointing at the note: the e-mail must not quote it.
    forged = Event.objects.create(
        organization=ticket.organization,
        ticket=ticket,
        kind=EventKind.REPLIED,
        actor_kind=ActorKind.USER,
        after={"message": note.pk},
        created_at=T0 + M,
    )
    assert deliver(noted, forged) == 2
    [message] = mailoutbox
    assert "difficult" not in message.body
    assert "difficult" not in html(message)


def test_customer_reply_goes_to_the_assignee_in_their_language(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    unassigned = world.file(title="Nobody's")
    services.ticket_customer_reply(
        ticket=unassigned, actor=customer(world), body="Any news?", now=T0 + M
    )
    event = last(unassigned, EventKind.CUSTOMER_REPLIED)
    assert deliver(event) == 1
    # Unassigned: every active agent is told (issue 14), none of them as its assignee.
    [message] = mailoutbox
    assert sorted(message.to) == ["agent@provider.test", "supervisor@provider.test"]
    assert "which is assigned to you" not in message.body
    mailoutbox.clear()

    world.agent.language = "pl"
    world.agent.save()
    ticket = world.file()
    services.ticket_assign(ticket=ticket, actor=agent(world), assignee=world.agent, now=T0 + M)
    services.ticket_customer_reply(
        ticket=ticket, actor=customer(world), body="Here is the <trace>.", now=T0 + 2 * M
    )
    deliver(last(ticket, EventKind.CUSTOMER_REPLIED))
    [message] = mailoutbox
    assert message.to == ["agent@provider.test"]
    assert message.subject == f"[{ticket.reference}] Klient odpowiedział: Cannot send mail"
    assert "Here is the <trace>." in message.body
    assert "Here is the &lt;trace&gt;." in html(message)
    # The link opens this request on the desk, not the queue.
    assert f"https://desk.example.test/desk/tickets/{ticket.pk}/" in message.body


def test_assignment_tells_the_new_assignee_unless_they_took_it(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    services.ticket_assign(ticket=ticket, actor=agent(world), assignee=world.agent, now=T0 + M)
    assert deliver(last(ticket, EventKind.ASSIGNED)) == 1
    assert mailoutbox == []  # claimed it themselves

    services.ticket_assign(
        ticket=ticket,
        actor=Actor.for_user(world.supervisor),
        assignee=world.supervisor,
        now=T0 + 2 * M,
    )
    services.ticket_assign(
        ticket=ticket, actor=Actor.for_user(world.supervisor), assignee=world.agent, now=T0 + 3 * M
    )
    deliver(last(ticket, EventKind.ASSIGNED))
    [message] = mailoutbox
    assert message.to == ["agent@provider.test"]
    assert message.subject == f"[{ticket.reference}] Assigned to you: Cannot send mail"
    assert "supervisor@provider.test assigned the request" in message.body


def test_warning_goes_to_the_supervisors_when_unassigned_else_the_assignee(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    second = SupervisorFactory(email="second@provider.test", language="pl")
    SupervisorFactory(email="retired@provider.test", is_active=False)
    unassigned = world.file(title="Unassigned", **A_READY)
    assigned = world.file(title="Assigned", **A_READY)
    services.ticket_assign(ticket=assigned, actor=agent(world), assignee=world.agent, now=T0)
    sweep(T0 + 46 * M)
    mailoutbox.clear()
    deliver(last(unassigned, EventKind.WARNED), last(assigned, EventKind.WARNED))

    by_subject = {(m.subject, tuple(m.to)) for m in mailoutbox}
    assert by_subject == {
        (f"[{unassigned.reference}] Response due soon: Unassigned", ("supervisor@provider.test",)),
        (f"[{unassigned.reference}] Termin odpowiedzi wkrótce mija: Unassigned", (second.email,)),
        (f"[{assigned.reference}] Response due soon: Assigned", ("agent@provider.test",)),
    }
    english = next(m for m in mailoutbox if m.to == ["supervisor@provider.test"])
    assert "75% of the response target has passed" in english.body
    assert "Nobody is assigned to this request." in english.body
    polish = next(m for m in mailoutbox if m.to == [second.email])
    assert "Nikt nie jest przypisany do tego zgłoszenia." in polish.body


def test_staff_mail_times_read_in_each_readers_own_zone_in_words(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    """Two English supervisors, one in Tokyo, one on the desk's time: one mail each, the
    deadline written in the reader's own zone with the zone in words."""
    from zoneinfo import ZoneInfo

    from core import moments

    SupervisorFactory(email="tokyo@provider.test", time_zone="Asia/Tokyo")
    ticket = world.file(title="Unassigned", **A_READY)
    sweep(T0 + 46 * M)
    mailoutbox.clear()
    deliver(last(ticket, EventKind.WARNED))
    ticket.refresh_from_db()
    assert ticket.response_due_at is not None
    by_reader = {tuple(m.to): m for m in mailoutbox}
    assert set(by_reader) == {("supervisor@provider.test",), ("tokyo@provider.test",)}
    tokyo = by_reader[("tokyo@provider.test",)]
    due_tokyo = moments.format_moment(ticket.response_due_at, zone=ZoneInfo("Asia/Tokyo"))
    assert "Tokyo time" in due_tokyo
    assert f"The response is due by {due_tokyo}." in tokyo.body
    assert due_tokyo in html(tokyo)
    desk = by_reader[("supervisor@provider.test",)]
    due_desk = moments.format_moment(ticket.response_due_at, zone=ZoneInfo("UTC"))
    assert f"The response is due by {due_desk}." in desk.body
    assert "Tokyo" not in desk.body


def test_customer_mail_times_read_in_the_customers_own_zone(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    """The requester who chose a zone reads "reply by" in it; a colleague kept informed
    who did not reads the organization's."""
    from notices.models import TicketCc
    from tests.factories import MembershipFactory

    requester = world.admin_a.user
    requester.time_zone = "America/New_York"
    requester.save(update_fields=["time_zone"])
    colleague = MembershipFactory(organization=world.org_a).user
    ticket = world.file()
    TicketCc.objects.create(ticket=ticket, user=colleague, added_by=requester, created_at=T0)
    services.ticket_request_information(
        ticket=ticket, actor=agent(world), body="Send the trace.", now=T0 + M
    )
    mailoutbox.clear()
    deliver(last(ticket, EventKind.INFORMATION_REQUESTED))
    by_reader = {tuple(m.to): m for m in mailoutbox}
    assert "New York time" in by_reader[(requester.email,)].body
    assert "Warsaw time" not in by_reader[(requester.email,)].body
    assert "Warsaw time" in by_reader[(colleague.email,)].body


def test_escalation_level_1_tells_assignee_and_supervisors_level_2_the_duty_manager_too(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    world.supervisor.language = "pl"
    world.supervisor.save()
    ticket = world.file(**A_READY)
    services.ticket_assign(ticket=ticket, actor=agent(world), assignee=world.agent, now=T0)
    sweep(T0 + H)
    mailoutbox.clear()
    deliver(last(ticket, EventKind.ESCALATED), now=T0 + H)
    assert sorted((m.to[0], m.subject) for m in mailoutbox) == [
        ("agent@provider.test", f"[{ticket.reference}] Escalated to level 1: Cannot send mail"),
        (
            "supervisor@provider.test",
            f"[{ticket.reference}] Eskalacja do poziomu 1: Cannot send mail",
        ),
    ]
    assert "The response deadline lapsed (POL-SLA-1)." in mailoutbox[0].body + mailoutbox[1].body

    sweep(T0 + 2 * H + S)
    mailoutbox.clear()
    deliver(last(ticket, EventKind.ESCALATED), now=T0 + 2 * H + S)
    # Level 2 tells the assignee too (issue 14), besides the duty manager and supervisors.
    assert sorted((m.to[0], m.subject.split("]")[1]) for m in mailoutbox) == [
        ("agent@provider.test", " Escalated to level 2: Cannot send mail"),
        (DUTY, " Escalated to level 2: Cannot send mail"),
        ("supervisor@provider.test", " Eskalacja do poziomu 2: Cannot send mail"),
    ]


def test_a_duty_manager_who_is_also_a_supervisor_gets_one_mail(
    world: World, settings: Any, mailoutbox: list[mail.EmailMessage]
) -> None:
    set_duty_managers("Supervisor@provider.test")
    ticket = world.file(**A_READY)
    sweep(T0 + 3 * H)
    mailoutbox.clear()
    deliver(last(ticket, EventKind.ESCALATED), now=T0 + 3 * H)
    [message] = mailoutbox
    assert [address.lower() for address in message.to] == ["supervisor@provider.test"]


def test_downgrade_and_reminder_explain_why_in_the_customers_language(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file(language="pl", **A_READY)
    services.ticket_request_information(ticket=ticket, actor=agent(world), body="Logs?", now=T0)
    lapse = T0 + 4 * H
    sweep(lapse)
    mailoutbox.clear()
    downgrade = last(ticket, EventKind.DOWNGRADED)
    assert "from A to B" in downgrade.reason  # stored in English
    deliver(downgrade, now=lapse)
    [message] = mailoutbox
    assert message.to == [world.admin_a.user.email]
    assert message.subject == f"[{ticket.reference}] Obniżono ważność: Cannot send mail"
    assert "obniżyliśmy ważność z A na B" in message.body
    assert "obniżyliśmy ważność z A na B" in html(message)

    for _ in range(2):  # B → C, then C reminds
        ticket.refresh_from_db()
        sweep(ticket.customer_due_at)
    mailoutbox.clear()
    reminder = last(ticket, EventKind.REMINDED)
    deliver(reminder, now=reminder.created_at)
    [message] = mailoutbox
    assert message.subject == f"[{ticket.reference}] Czekamy na Twoją odpowiedź: Cannot send mail"
    assert "Nadal czekamy na informacje" in message.body


def test_resolution_asks_the_customer_to_rate_with_one_click(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    services.ticket_resolve(ticket=ticket, actor=agent(world), reason="Fixed <the> relay", now=T0)
    deliver(last(ticket, EventKind.RESOLVED))
    [message] = mailoutbox
    assert message.subject == f"[{ticket.reference}] Resolved: Cannot send mail"
    assert "How satisfied are you with the support you received?" in message.body
    assert message.body.count("/rate/") == 5 and html(message).count("/rate/") == 5
    assert "Fixed <the> relay" in message.body
    assert "Fixed &lt;the&gt; relay" in html(message)


def test_severity_change_tells_the_customer_with_the_reason(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file(language="pl")
    services.ticket_change_severity(
        ticket=ticket, actor=agent(world), severity="C", reason="Workaround in place", now=T0
    )
    deliver(last(ticket, EventKind.SEVERITY_CHANGED))
    [message] = mailoutbox
    assert message.subject == f"[{ticket.reference}] Zmieniono ważność: Cannot send mail"
    assert "z B – wysoka na C – niekrytyczna" in message.body
    assert "Workaround in place" in message.body


def test_events_that_tell_nobody_are_delivered_without_mail(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    ticket = world.file()
    services.ticket_internal_note(ticket=ticket, actor=agent(world), body="n", now=T0)
    services.ticket_resolve(ticket=ticket, actor=agent(world), reason="", now=T0 + M)
    services.ticket_reopen(ticket=ticket, actor=customer(world), reason="Back", now=T0 + 2 * M)
    services.ticket_resolve(ticket=ticket, actor=agent(world), reason="", now=T0 + 3 * M)
    services.ticket_close(ticket=ticket, actor=agent(world), now=T0 + 4 * M)
    rated = Event.objects.create(
        organization=ticket.organization,
        ticket=ticket,
        kind=EventKind.RATED,
        actor_kind=ActorKind.USER,
        created_at=T0 + 5 * M,
    )
    phone_only = world.file(contact_email="", contact_phone="+48601234567")
    silent = [
        last(ticket, EventKind.NOTED),
        # REOPENED tells the staff now (tests/notices).
        last(ticket, EventKind.CLOSED),
        rated,
        last(phone_only, EventKind.CREATED),
    ]
    for event in silent:
        assert notifications.notifications_for(event) == []
    assert deliver(*silent, now=T0 + H) == 4
    assert mailoutbox == []
    assert not Event.objects.filter(pk__in=[e.pk for e in silent], delivered_at=None).exists()


def test_recipients_are_grouped_by_language_and_deduplicated(world: World) -> None:
    SupervisorFactory(email="second@provider.test", language="pl")
    SupervisorFactory(email="third@provider.test", language="pl")
    ticket = world.file(**A_READY)
    services.ticket_assign(
        ticket=ticket, actor=Actor.for_user(world.supervisor), assignee=world.supervisor, now=T0
    )
    sweep(T0 + H)
    found = notifications.notifications_for(last(ticket, EventKind.ESCALATED))
    assert [(n.language, n.to, n.template) for n in found] == [
        ("en", ["supervisor@provider.test"], "escalated"),
        ("pl", ["second@provider.test", "third@provider.test"], "escalated"),
    ]


# --- delivery: once, after commit, retried ----------------------------------------------------


def test_delivering_the_same_ids_twice_sends_once(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    event = last(world.file(), EventKind.CREATED)
    assert deliver(event) == 1
    assert deliver(event, now=T0 + H) == 0
    assert outbox.deliver_pending(now=T0 + 24 * H) == 0
    assert len(mailoutbox) == 1
    event.refresh_from_db()
    assert event.delivered_at == T0 + M


def test_a_failing_mail_server_counts_an_attempt_then_the_sweep_retries_after_the_delay(
    world: World,
    mailoutbox: list[mail.EmailMessage],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = last(world.file(), EventKind.CREATED)

    def refuse(self: EmailMultiAlternatives, fail_silently: bool = False) -> int:
        raise ConnectionRefusedError("smtp down")

    with monkeypatch.context() as patched:
        patched.setattr(EmailMultiAlternatives, "send", refuse)
        with caplog.at_level(logging.WARNING, logger="tickets.outbox"):
            assert deliver(event, now=T0) == 0
    event.refresh_from_db()
    assert (event.delivered_at, event.delivery_attempts) == (None, 1)
    assert "could not be sent (attempt 1 of 10)" in caplog.text

    # The first retry waits twice the delay after one failure.
    assert outbox.deliver_pending(now=T0 + 119 * S) == 0
    assert outbox.deliver_pending(now=T0 + 120 * S) == 1
    event.refresh_from_db()
    assert (event.delivered_at, event.delivery_attempts) == (T0 + 120 * S, 1)
    assert len(mailoutbox) == 1


def test_the_sweep_delivers_what_the_task_did_not_after_the_delay(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    event = last(world.file(), EventKind.CREATED)
    assert outbox.deliver_pending(now=T0 + 59 * S) == 0
    sweep(T0 + 60 * S)
    event.refresh_from_db()
    assert event.delivered_at == T0 + 60 * S
    assert len(mailoutbox) == 1


def test_delivery_gives_up_after_max_attempts(
    world: World, mailoutbox: list[mail.EmailMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    event = last(world.file(), EventKind.CREATED)
    monkeypatch.setattr(EmailMultiAlternatives, "send", lambda *a, **k: 1 / 0)
    far = T0 + timedelta(days=365)
    for _ in range(outbox.MAX_ATTEMPTS + 3):
        assert outbox.deliver_pending(now=far) == 0
    event.refresh_from_db()
    assert (event.delivered_at, event.delivery_attempts) == (None, outbox.MAX_ATTEMPTS)
    monkeypatch.undo()
    assert outbox.deliver_pending(now=far) == 0
    assert mailoutbox == []


def test_a_batch_stops_after_consecutive_failures_and_leaves_the_rest(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [last(world.file(title=f"R{i}"), EventKind.CREATED) for i in range(5)]
    monkeypatch.setattr(EmailMultiAlternatives, "send", lambda *a, **k: 1 / 0)
    assert deliver(*events) == 0
    attempts = sorted(
        Event.objects.filter(pk__in=[e.pk for e in events]).values_list(
            "delivery_attempts", flat=True
        )
    )
    assert attempts == [0, 0, 1, 1, 1]


def test_one_failing_event_does_not_hold_back_the_others(
    world: World, mailoutbox: list[mail.EmailMessage], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = last(world.file(contact_email="bad@example.test"), EventKind.CREATED)
    good = last(world.file(), EventKind.CREATED)
    send = EmailMultiAlternatives.send

    def picky(self: EmailMultiAlternatives, fail_silently: bool = False) -> int:
        if self.to == ["bad@example.test"]:
            raise ValueError("recipient refused")
        return send(self, fail_silently)

    monkeypatch.setattr(EmailMultiAlternatives, "send", picky)
    assert deliver(bad, good) == 1
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.delivered_at, bad.delivery_attempts) == (None, 1)
    assert good.delivered_at == T0 + M
    assert [m.to for m in mailoutbox] == [[world.admin_a.user.email]]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_event_another_worker_is_sending_is_skipped_not_waited_for(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    event = last(world.file(), EventKind.CREATED)
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                Event.objects.select_for_update().get(pk=event.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        assert deliver(event) == 0  # skipped at once, not waited for
        assert mailoutbox == []
    finally:
        release.set()
        thread.join()
    assert deliver(event) == 1
    assert len(mailoutbox) == 1


def test_queue_delivery_publishes_after_commit(
    world: World, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        tasks.deliver_events, "apply_async", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    with django_capture_on_commit_callbacks() as callbacks:
        outbox.queue_delivery([3, 1, 3])
    assert len(callbacks) == 1
    assert calls == []  # nothing before the commit
    callbacks[0]()
    assert calls == [((), {"args": ([3, 1],), "retry": False, "ignore_result": True})]


def test_batched_publishing_sends_one_task_for_commits_close_together(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Production publishes from a thread, one task per window of commits: off the
    request's path, and once for many requests."""
    import threading

    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, OUTBOX_PUBLISH_BATCH_SECONDS=0.2
    )
    published = threading.Event()
    calls: list[list[int]] = []

    def record(*args: Any, **kwargs: Any) -> None:
        calls.append(kwargs["args"][0])
        published.set()

    monkeypatch.setattr(tasks.deliver_events, "apply_async", record)
    for ids in ([5], [6, 5], [7]):
        with django_capture_on_commit_callbacks(execute=True):
            outbox.queue_delivery(ids)
    assert published.wait(timeout=5)
    time.sleep(0.1)  # nothing else is coming: all three commits fell in one window
    assert calls == [[5, 6, 7]]


def test_batched_publishing_flushes_what_is_waiting(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[int]] = []
    monkeypatch.setattr(
        tasks.deliver_events, "apply_async", lambda *a, **k: calls.append(k["args"][0])
    )
    publisher = outbox._BatchPublisher()
    publisher._pid = os.getpid()  # as if its thread were busy: the ids wait in the queue
    publisher._queue.put([1, 2])
    publisher._queue.put([2, 3])
    publisher.flush()
    assert calls == [[1, 2, 3]]


def test_queue_delivery_swallows_a_broker_error(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.deliver_events, "apply_async", broker_down)
    with (
        caplog.at_level(logging.WARNING, logger="tickets.outbox"),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        outbox.queue_delivery([7])
    assert len(callbacks) == 1
    assert "the sweep will deliver them" in caplog.text


def test_queue_delivery_can_be_switched_off(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, OUTBOX_TASKS=False)
    with django_capture_on_commit_callbacks() as callbacks:
        outbox.queue_delivery([1])
        settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, OUTBOX_TASKS=True)
        outbox.queue_delivery([])
    assert callbacks == []


def test_the_task_delivers_with_the_current_time(
    world: World, mailoutbox: list[mail.EmailMessage]
) -> None:
    event = last(world.file(), EventKind.CREATED)
    assert tasks.deliver_events([event.pk]) == 1
    event.refresh_from_db()
    assert event.delivered_at is not None
    assert len(mailoutbox) == 1


# --- cost ---------------------------------------------------------------------------------------

# Per e-mailed Event: the claim, its OutgoingMail rows and the mark, plus the savepoint pair
# the test transaction turns each per-Event transaction into. Per batch: the Events, the
# messages, the staff, the tickets' earlier Message-IDs, and the notices app's followers,
# e-mail preferences, colleagues kept informed and in-app notices.
PER_EVENT = 5
PER_BATCH = 10


def test_delivering_a_batch_costs_a_fixed_number_of_queries_per_event(
    world: World,
    mailoutbox: list[mail.EmailMessage],
    django_assert_max_num_queries: Any,
    settings: Any,
) -> None:
    # The supervisor assigns each request (a mail to the agent); the agent's reply must
    # not assign it first, so every Event here is one e-mail.
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, REPLY_ASSIGNS=False)
    supervisor = Actor.for_user(world.supervisor)
    for i in range(5):
        ticket = world.file(title=f"Request {i}", now=T0 + i * S)
        services.ticket_agent_reply(ticket=ticket, actor=agent(world), body="On it", now=T0 + M)
        services.ticket_assign(ticket=ticket, actor=supervisor, assignee=world.agent, now=T0 + M)
        services.ticket_customer_reply(
            ticket=ticket, actor=customer(world), body="Thanks", now=T0 + 2 * M
        )
    ids = list(Event.objects.values_list("pk", flat=True))
    assert len(ids) == 20

    with django_assert_max_num_queries(PER_BATCH + PER_EVENT * 20) as captured:
        assert outbox.deliver_events(ids, now=T0 + H) == 20
    assert len(mailoutbox) == 20
    sql = [query["sql"] for query in captured.captured_queries]
    # What notifications read is loaded once per batch, never per Event.
    assert sum('FROM "tickets_message"' in q for q in sql) == 1
    assert sum('FROM "tenants_user"' in q for q in sql) == 1
    assert sum('"tickets_ticket"' in q for q in sql) == 1
