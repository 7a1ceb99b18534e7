"""Sending and checking codes: every rule of POL-PIN-1/2 and the POLICY.md PIN defaults.

"Ten minutes later" and "an hour later" are moves of the stopped clock (``clock``, in
this folder's conftest): the services take ``now``, as the desk's views give it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from time_machine import TimeMachineFixture

from tenants.mail import KIND_HEADER
from tests.conftest import World
from tests.verification.conftest import (
    CODE_IN_TEXT,
    REGISTERED_PHONE,
    UNREGISTERED_CALLER,
    Contacts,
    People,
    code_messages,
    last_code,
    wrong,
)
from verification import delivery
from verification.models import (
    Call,
    ChannelKind,
    EventKind,
    OrganizationPinState,
    PinChallenge,
    VerificationEvent,
    VerifiedBy,
)
from verification.services import (
    ERR_ALREADY_VERIFIED,
    ERR_CALL_OVER,
    ERR_CODE_EXPIRED,
    ERR_CODE_FORMAT,
    ERR_CODE_INVALID,
    ERR_CODE_USED_UP,
    ERR_COOLING_OFF,
    ERR_LOCKED,
    ERR_NOT_DELIVERED,
    ERR_NOT_LOCKED,
    ERR_NOT_YOUR_CALL,
    ERR_RATE_DAY,
    ERR_RATE_HOUR,
    ERR_SUPERVISORS_ONLY,
    ERR_UNKNOWN_CHANNEL,
    VerificationError,
    active_call,
    call_end,
    call_start,
    code_check,
    code_send,
    pin_unlock,
)

pytestmark = pytest.mark.django_db

INVALID = str(ERR_CODE_INVALID)
USED_UP = str(ERR_CODE_USED_UP % {"count": 5})
EXPIRED = str(ERR_CODE_EXPIRED % {"minutes": 10})


def send_email_code(call: Call, contacts: Contacts) -> tuple[PinChallenge, str]:
    challenge = code_send(
        call=call,
        agent=call.agent,
        channel_id=contacts.email.pk,
        channel_kind="email",
        now=timezone.now(),
    )
    return challenge, last_code()


def new_call(world: World) -> Call:
    """A new unverified call of the agent (a call's access lasts 60 minutes)."""
    return call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=UNREGISTERED_CALLER,
        now=timezone.now(),
    )


def refused(call: Call, agent: Any, entry: str) -> VerificationError:
    with pytest.raises(VerificationError) as failure:
        code_check(call=call, agent=agent, entry=entry, now=timezone.now())
    return failure.value


def notices_of(what: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.extra_headers.get(KIND_HEADER) == f"verification-{what}"]


def failures_of(world: World) -> int:
    return OrganizationPinState.objects.get(organization=world.org_a).consecutive_failures


def last_event(kind: EventKind) -> VerificationEvent:
    return VerificationEvent.objects.filter(kind=kind).latest("pk")


# --- Sending -------------------------------------------------------------------------------


def test_a_code_goes_to_a_registered_email(world: World, contacts: Contacts, call: Call) -> None:
    challenge, code = send_email_code(call, contacts)

    [message] = code_messages()
    assert message.to == [contacts.email.email]
    assert message.subject == "Verification code for a support call about Alpha Corp"
    assert re.fullmatch(r"\d{8}", code)
    assert world.agent.full_name in message.body
    assert "Alpha Corp" in message.body
    assert "Support never asks for this code unless someone from your organization" in (
        message.body
    )
    assert code in message.alternatives[0].content  # the HTML part
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert challenge.channel_kind == ChannelKind.EMAIL
    assert challenge.registered_email == contacts.email
    assert challenge.channel_label == f"{contacts.email.email[0]}***@example.test"
    assert (challenge.call, challenge.agent, challenge.organization) == (
        call,
        world.agent,
        world.org_a,
    )
    event = last_event(EventKind.CODE_SENT)
    assert (event.call, event.challenge, event.channel) == (
        call,
        challenge,
        challenge.channel_label,
    )


def test_a_code_goes_to_a_registered_phone_by_sms(
    world: World,
    contacts: Contacts,
    call: Call,
    sms_outbox: list[delivery.SmsMessage],
) -> None:
    challenge = code_send(
        call=call,
        agent=world.agent,
        channel_id=contacts.phone.pk,
        channel_kind="phone",
        now=timezone.now(),
    )

    [sms] = sms_outbox
    assert sms.to == REGISTERED_PHONE
    code = last_code(sms_outbox)
    assert sms.body.startswith(f"{code} is the supportdesk verification code")
    assert world.agent.full_name in sms.body
    assert "Support never asks for it unless your organization called us" in sms.body
    assert challenge.channel_label == "+48 *** *** 123"
    assert challenge.registered_phone == contacts.phone
    assert code_messages() == []
    assert (
        code_check(call=call, agent=world.agent, entry=code, now=timezone.now()).verified_by
        == VerifiedBy.PIN
    )


def test_a_code_is_valid_ten_minutes_from_sending(
    world: World, contacts: Contacts, call: Call
) -> None:
    challenge, _code = send_email_code(call, contacts)

    assert challenge.created_at == timezone.now()
    assert challenge.expires_at == timezone.now() + timedelta(minutes=10)
    assert last_event(EventKind.CODE_SENT).created_at == timezone.now()


def test_hash_and_salt_differ_for_every_code(world: World, contacts: Contacts, call: Call) -> None:
    first, _ = send_email_code(call, contacts)
    second, _ = send_email_code(call, contacts)
    first.refresh_from_db()

    assert first.salt != second.salt
    assert first.code_hash != second.code_hash
    assert re.fullmatch(r"[0-9a-f]{32}", second.salt)
    assert re.fullmatch(r"[0-9a-f]{64}", second.code_hash)


def test_a_contact_in_its_cool_off_receives_no_code(
    world: World, contacts: Contacts, call: Call, sms_outbox: list[delivery.SmsMessage]
) -> None:
    for contact, kind in ((contacts.cooling_email, "email"), (contacts.cooling_phone, "phone")):
        with pytest.raises(VerificationError, match=str(ERR_COOLING_OFF)):
            code_send(
                call=call,
                agent=world.agent,
                channel_id=contact.pk,
                channel_kind=kind,
                now=timezone.now(),
            )

    assert not PinChallenge.objects.exists()
    assert mail.outbox == [] and sms_outbox == []
    reasons = list(
        VerificationEvent.objects.filter(kind=EventKind.SEND_REFUSED).values_list(
            "reason", flat=True
        )
    )
    assert reasons == ["cooling_off", "cooling_off"]


def test_a_contact_receives_codes_from_the_end_of_its_cool_off(
    world: World, contacts: Contacts, clock: TimeMachineFixture
) -> None:
    contact = contacts.cooling_email
    clock.move_to(contact.active_from - timedelta(seconds=1), tick=False)
    with pytest.raises(VerificationError, match=str(ERR_COOLING_OFF)):
        code_send(
            call=new_call(world),
            agent=world.agent,
            channel_id=contact.pk,
            channel_kind="email",
            now=timezone.now(),
        )
    clock.move_to(contact.active_from, tick=False)
    code_send(
        call=new_call(world),
        agent=world.agent,
        channel_id=contact.pk,
        channel_kind="email",
        now=timezone.now(),
    )
    assert code_messages()[0].to == ["new.contact@alpha.test"]


@pytest.mark.parametrize(
    "which", ["other_org", "unknown_id", "unknown_kind", "wrong_kind", "not_a_number"]
)
def test_only_the_organizations_own_contacts_receive_codes(
    world: World, contacts: Contacts, call: Call, which: str
) -> None:
    channel_id, kind = {
        "other_org": (contacts.other_org_email.pk, "email"),
        "unknown_id": (10**9, "email"),
        "unknown_kind": (contacts.email.pk, "pigeon"),
        "wrong_kind": (contacts.email.pk + 10**6, "phone"),
        "not_a_number": ("1 OR 1=1", "email"),
    }[which]
    with pytest.raises(VerificationError, match=str(ERR_UNKNOWN_CHANNEL)):
        code_send(
            call=call,
            agent=world.agent,
            channel_id=channel_id,
            channel_kind=kind,
            now=timezone.now(),
        )
    assert not PinChallenge.objects.exists()
    assert mail.outbox == []


def test_no_code_for_another_agents_call(
    world: World, people: People, contacts: Contacts, call: Call
) -> None:
    with pytest.raises(VerificationError, match=str(ERR_NOT_YOUR_CALL)):
        code_send(
            call=call,
            agent=people.agent2,
            channel_id=contacts.email.pk,
            channel_kind="email",
            now=timezone.now(),
        )
    assert not PinChallenge.objects.exists()


def test_no_code_for_an_ended_or_expired_call(
    world: World, contacts: Contacts, call: Call, clock: TimeMachineFixture
) -> None:
    clock.shift(timedelta(minutes=60))  # the call's 60 minutes are over
    with pytest.raises(VerificationError, match=str(ERR_CALL_OVER)):
        send_email_code(call, contacts)

    again = new_call(world)
    call_end(call=again, agent=world.agent, now=timezone.now())
    with pytest.raises(VerificationError, match=str(ERR_CALL_OVER)):
        send_email_code(again, contacts)
    assert not PinChallenge.objects.exists()


def test_no_code_for_a_verified_call(world: World, contacts: Contacts) -> None:
    call = call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=REGISTERED_PHONE,
        now=timezone.now(),
    )
    with pytest.raises(VerificationError, match=str(ERR_ALREADY_VERIFIED)):
        send_email_code(call, contacts)


def test_a_failed_delivery_voids_the_code(
    world: World, contacts: Contacts, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any, to: str, body: str) -> None:
        raise delivery.SmsDeliveryError("SMS gateway answered HTTP 503")

    monkeypatch.setattr(delivery.OutboxSmsBackend, "send", broken)
    with pytest.raises(VerificationError, match=str(ERR_NOT_DELIVERED)):
        code_send(
            call=call,
            agent=world.agent,
            channel_id=contacts.phone.pk,
            channel_kind="phone",
            now=timezone.now(),
        )

    challenge = PinChallenge.objects.get()
    assert challenge.voided_at is not None
    event = last_event(EventKind.CODE_NOT_DELIVERED)
    assert event.challenge == challenge
    assert not VerificationEvent.objects.filter(kind=EventKind.CODE_SENT).exists()
    assert mail.outbox == []  # no "code sent" notice for a code nobody received


def test_a_failing_mail_server_voids_an_email_code(
    world: World, contacts: Contacts, call: Call, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "tests.verification.test_codes.BrokenEmailBackend"
    with pytest.raises(VerificationError, match=str(ERR_NOT_DELIVERED)):
        send_email_code(call, contacts)
    assert PinChallenge.objects.get().voided_at is not None


class BrokenEmailBackend(mail.backends.base.BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise OSError("connection refused")


def test_a_failed_admin_notice_does_not_stop_the_code_and_is_recorded(
    world: World, contacts: Contacts, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    from verification import services

    monkeypatch.setattr(services, "_send_mail", lambda emails: False)
    challenge, code = send_email_code(call, contacts)

    assert "NOT told" in last_event(EventKind.CODE_SENT).outcome
    assert code_check(call=call, agent=world.agent, entry=code, now=timezone.now()).is_verified
    assert PinChallenge.objects.get(pk=challenge.pk).used_at is not None


def test_sending_queues_no_task(
    world: World, contacts: Contacts, call: Call, django_capture_on_commit_callbacks: Any
) -> None:
    # The code goes out inline: nothing is handed to Celery, so it never reaches a broker.
    with django_capture_on_commit_callbacks() as callbacks:
        send_email_code(call, contacts)
    assert callbacks == []


# --- The code is stored nowhere ------------------------------------------------------------


def _every_value_in_the_database() -> list[str]:
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).hex() + bytes(value).decode("latin-1")
                    values.append(str(value))
    return values


def test_the_code_is_stored_nowhere_logged_nowhere_printed_nowhere(
    world: World,
    contacts: Contacts,
    call: Call,
    sms_outbox: list[delivery.SmsMessage],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True  # log every SQL statement with its parameters
    try:
        with CaptureQueriesContext(connection) as queries:
            send_email_code(call, contacts)
            email_code = last_code()
            code_send(
                call=call,
                agent=world.agent,
                channel_id=contacts.phone.pk,
                channel_kind="phone",
                now=timezone.now(),
            )
            sms_code = last_code(sms_outbox)
            with pytest.raises(VerificationError):
                code_check(call=call, agent=world.agent, entry=wrong(sms_code), now=timezone.now())
            code_check(call=call, agent=world.agent, entry=sms_code, now=timezone.now())
    finally:
        connection.force_debug_cursor = False

    codes = {email_code, sms_code}
    grouped = {f"{c[:4]} {c[4:]}" for c in codes} | {f"{c[:4]}-{c[4:]}" for c in codes}
    database = _every_value_in_the_database()
    assert len(database) > 100
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) > 20
    logs = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "UPDATE" in caplog.text  # the SQL log was on
    printed = capsys.readouterr()
    for needle in codes | grouped:
        assert not [value for value in database if needle in value]
        assert not [statement for statement in sql if needle in statement]
        assert needle not in logs
        assert needle not in printed.out + printed.err
    # The audit trail, field by field, in particular.
    for event in VerificationEvent.objects.all():
        text = " ".join(str(getattr(event, f.attname)) for f in event._meta.concrete_fields)
        assert not any(code in text for code in codes)
    # Only the messages to the contact carry it; the notices to the admins never do.
    for message in mail.outbox:
        carries = any(code in message.body for code in codes)
        assert carries == (message in code_messages())


# --- Checking ------------------------------------------------------------------------------


def test_the_right_code_verifies_the_call_for_that_agent(
    world: World, contacts: Contacts, call: Call
) -> None:
    challenge, code = send_email_code(call, contacts)

    verified = code_check(
        call=call, agent=world.agent, entry=f" {code[:4]} {code[4:]} ", now=timezone.now()
    )

    assert verified.pk == call.pk
    assert verified.verified_by == VerifiedBy.PIN
    assert verified.verified_at is not None
    assert verified.expires_at == call.started_at + timedelta(minutes=60)
    challenge.refresh_from_db()
    assert challenge.used_at is not None
    assert active_call(agent=world.agent, organization=world.org_a, now=timezone.now()) == call
    assert active_call(agent=world.agent, organization=world.org_b, now=timezone.now()) is None
    event = last_event(EventKind.CODE_ACCEPTED)
    assert (event.call, event.challenge, event.agent, event.reason) == (
        call,
        challenge,
        world.agent,
        "accepted",
    )


def test_a_malformed_entry_is_refused_and_counts_nothing(
    world: World, contacts: Contacts, call: Call
) -> None:
    challenge, code = send_email_code(call, contacts)
    for typed in ("1234567", "123456789", "abcdefgh", ""):
        failure = refused(call, world.agent, typed)
        assert failure.message == str(ERR_CODE_FORMAT % {"length": 8})
    challenge.refresh_from_db()
    assert challenge.wrong_attempts == 0
    assert not OrganizationPinState.objects.filter(consecutive_failures__gt=0).exists()
    assert code_check(call=call, agent=world.agent, entry=code, now=timezone.now()).is_verified


def test_a_code_works_at_nine_minutes_fifty_nine(
    world: World, contacts: Contacts, call: Call, clock: TimeMachineFixture
) -> None:
    _challenge, code = send_email_code(call, contacts)
    clock.shift(timedelta(minutes=9, seconds=59))
    assert code_check(call=call, agent=world.agent, entry=code, now=timezone.now()).is_verified


def test_a_code_is_dead_at_ten_minutes(
    world: World, contacts: Contacts, call: Call, clock: TimeMachineFixture
) -> None:
    challenge, code = send_email_code(call, contacts)
    clock.shift(timedelta(minutes=10))

    failure = refused(call, world.agent, code)
    assert (failure.message, failure.code) == (EXPIRED, "code_expired")
    assert last_event(EventKind.CODE_REJECTED).reason == "expired"
    challenge.refresh_from_db()
    assert challenge.used_at is None
    assert not Call.objects.get(pk=call.pk).is_verified


def test_a_code_works_once(world: World, contacts: Contacts, call: Call) -> None:
    _challenge, code = send_email_code(call, contacts)
    code_check(call=call, agent=world.agent, entry=code, now=timezone.now())

    # Replayed on the same call (now verified) and on a new call of the same agent.
    assert refused(call, world.agent, code).message == INVALID
    assert last_event(EventKind.CODE_REJECTED).reason == "already_verified"
    again = new_call(world)
    assert refused(again, world.agent, code).message == INVALID
    assert last_event(EventKind.CODE_REJECTED).reason == "no_code"


def test_a_used_code_is_refused_as_used(world: World, contacts: Contacts, call: Call) -> None:
    challenge, code = send_email_code(call, contacts)
    PinChallenge.objects.filter(pk=challenge.pk).update(used_at=timezone.now())
    assert refused(call, world.agent, code).message == INVALID
    assert last_event(EventKind.CODE_REJECTED).reason == "used"


def test_a_new_code_voids_the_previous_one(world: World, contacts: Contacts, call: Call) -> None:
    first, first_code = send_email_code(call, contacts)
    second, second_code = send_email_code(call, contacts)
    assert first_code != second_code or first.code_hash != second.code_hash

    first.refresh_from_db()
    assert first.voided_at is not None
    assert "1 earlier code(s) voided" in last_event(EventKind.CODE_SENT).outcome
    if first_code != second_code:
        assert refused(call, world.agent, first_code).message == INVALID
    assert code_check(
        call=call, agent=world.agent, entry=second_code, now=timezone.now()
    ).is_verified


def test_a_voided_code_is_refused_as_voided(world: World, contacts: Contacts, call: Call) -> None:
    challenge, code = send_email_code(call, contacts)
    PinChallenge.objects.filter(pk=challenge.pk).update(voided_at=timezone.now())
    assert refused(call, world.agent, code).message == INVALID
    assert last_event(EventKind.CODE_REJECTED).reason == "voided"


def test_five_wrong_entries_kill_a_code(world: World, contacts: Contacts, call: Call) -> None:
    challenge, code = send_email_code(call, contacts)
    for attempt in range(1, 6):
        # The fifth wrong entry uses the code up, and the agent is told so at once.
        expected = USED_UP if attempt == 5 else INVALID
        assert refused(call, world.agent, wrong(code)).message == expected
        challenge.refresh_from_db()
        assert challenge.wrong_attempts == attempt
        assert last_event(EventKind.CODE_REJECTED).reason == "wrong"

    # The right code, read after five wrong tries: refused as used up, not as "not valid".
    failure = refused(call, world.agent, code)
    assert (failure.message, failure.code) == (USED_UP, "code_used_up")
    assert "5 wrong tries" in failure.message and "send a new one" in failure.message
    assert last_event(EventKind.CODE_REJECTED).reason == "exhausted"
    challenge.refresh_from_db()
    assert (challenge.wrong_attempts, challenge.used_at) == (5, None)
    assert refused(call, world.agent, wrong(code)).message == USED_UP
    challenge.refresh_from_db()
    assert challenge.wrong_attempts == 5  # never counted past the limit


def test_four_wrong_entries_leave_the_code_alive(
    world: World, contacts: Contacts, call: Call
) -> None:
    _challenge, code = send_email_code(call, contacts)
    for _ in range(4):
        refused(call, world.agent, wrong(code))
    assert failures_of(world) == 4
    assert code_check(call=call, agent=world.agent, entry=code, now=timezone.now()).is_verified
    assert failures_of(world) == 0  # a success resets the consecutive failures


def test_the_right_code_fails_on_another_agents_call(
    world: World, people: People, contacts: Contacts, call: Call
) -> None:
    challenge, code = send_email_code(call, contacts)
    own = call_start(
        agent=people.agent2,
        organization=world.org_a,
        caller_number=UNREGISTERED_CALLER,
        now=timezone.now(),
    )

    # The other agent types it on their own call, then on the first agent's call.
    assert refused(own, people.agent2, code).message == INVALID
    assert last_event(EventKind.CODE_REJECTED).reason == "no_code"
    assert refused(call, people.agent2, code).message == INVALID
    assert last_event(EventKind.CODE_REJECTED).reason == "not_your_call"
    assert active_call(agent=people.agent2, organization=world.org_a, now=timezone.now()) is None

    challenge.refresh_from_db()
    assert challenge.used_at is None  # untouched: the right agent can still use it
    assert code_check(call=call, agent=world.agent, entry=code, now=timezone.now()).is_verified


def test_the_right_code_fails_for_another_organization(
    world: World, people: People, contacts: Contacts, call: Call
) -> None:
    _challenge, code = send_email_code(call, contacts)
    other = call_start(
        agent=people.agent2,
        organization=world.org_b,
        caller_number=UNREGISTERED_CALLER,
        now=timezone.now(),
    )
    assert refused(other, people.agent2, code).message == INVALID
    assert active_call(agent=people.agent2, organization=world.org_b, now=timezone.now()) is None
    assert active_call(agent=people.agent2, organization=world.org_a, now=timezone.now()) is None


def test_a_code_dies_with_its_call(world: World, contacts: Contacts, call: Call) -> None:
    challenge, code = send_email_code(call, contacts)
    call_end(call=call, agent=world.agent, now=timezone.now())

    challenge.refresh_from_db()
    assert challenge.voided_at is not None
    assert refused(call, world.agent, code).message == INVALID
    assert last_event(EventKind.CODE_REJECTED).reason == "call_over"


def test_a_code_cannot_verify_a_call_past_its_sixty_minutes(
    world: World, contacts: Contacts, call: Call, clock: TimeMachineFixture
) -> None:
    # Sent 55 minutes into the call, read back at 60: the code is alive, the call is not.
    clock.shift(timedelta(minutes=55))
    _challenge, code = send_email_code(call, contacts)
    clock.shift(timedelta(minutes=5))
    assert refused(call, world.agent, code).message == INVALID
    assert last_event(EventKind.CODE_REJECTED).reason == "call_over"


def test_refusals_tell_only_what_changes_the_next_step(
    world: World, people: People, contacts: Contacts, call: Call, clock: TimeMachineFixture
) -> None:
    """Used up, expired and locked each say so (the agent must send a new code or fetch
    a supervisor); wrong, used, voided, another agent's call and an ended call share one
    sentence. None says anything about the digits; the audit knows every reason."""
    messages: dict[str, str] = {}

    def fresh_call() -> tuple[Call, PinChallenge, str]:
        clock.shift(timedelta(days=1))  # a day later: inside the rate limits again
        new = new_call(world)
        challenge, code = send_email_code(new, contacts)
        return new, challenge, code

    c, ch, code = fresh_call()
    messages["wrong"] = refused(c, world.agent, wrong(code)).message
    clock.shift(timedelta(minutes=10))
    messages["expired"] = refused(c, world.agent, code).message

    c, ch, code = fresh_call()
    code_check(call=c, agent=world.agent, entry=code, now=timezone.now())
    messages["already_verified"] = refused(c, world.agent, code).message

    c, ch, code = fresh_call()
    PinChallenge.objects.filter(pk=ch.pk).update(used_at=timezone.now())
    messages["used"] = refused(c, world.agent, code).message

    c, ch, code = fresh_call()
    PinChallenge.objects.filter(pk=ch.pk).update(voided_at=timezone.now())
    messages["voided"] = refused(c, world.agent, code).message

    c, ch, code = fresh_call()
    PinChallenge.objects.filter(pk=ch.pk).update(wrong_attempts=5)
    messages["exhausted"] = refused(c, world.agent, code).message
    messages["not_your_call"] = refused(c, people.agent2, code).message

    c, ch, code = fresh_call()
    call_end(call=c, agent=world.agent, now=timezone.now())
    messages["call_over"] = refused(c, world.agent, code).message

    c, ch, code = fresh_call()
    OrganizationPinState.objects.filter(organization=world.org_a).update(locked_at=timezone.now())
    messages["locked"] = refused(c, world.agent, code).message

    assert messages == {
        "wrong": INVALID,
        "expired": EXPIRED,
        "already_verified": INVALID,
        "used": INVALID,
        "voided": INVALID,
        "exhausted": USED_UP,
        "not_your_call": INVALID,
        "call_over": INVALID,
        "locked": str(ERR_LOCKED),
    }
    recorded = set(
        VerificationEvent.objects.filter(kind=EventKind.CODE_REJECTED).values_list(
            "reason", flat=True
        )
    )
    assert recorded == set(messages)


# --- Rate limits ---------------------------------------------------------------------------


def test_at_most_three_codes_per_organization_per_hour(
    world: World, people: People, contacts: Contacts, call: Call, clock: TimeMachineFixture
) -> None:
    first, _code = send_email_code(call, contacts)
    for _ in range(2):
        send_email_code(call, contacts)
    with pytest.raises(VerificationError) as limited:
        send_email_code(call, contacts)
    next_at = timezone.localtime(first.created_at + timedelta(hours=1))
    assert limited.value.message == str(
        ERR_RATE_HOUR % {"count": 3, "time": f"{next_at:%H:%M} UTC"}  # the zone, named
    )
    assert "Next code possible at" in limited.value.message
    assert limited.value.code == "rate_limited"
    assert last_event(EventKind.RATE_LIMITED).reason == "per_hour"

    # Per organization, not per call or agent: another agent's call for org_a waits too...
    other = call_start(
        agent=people.agent2,
        organization=world.org_a,
        caller_number=UNREGISTERED_CALLER,
        now=timezone.now(),
    )
    with pytest.raises(VerificationError, match="in the last hour"):
        send_email_code(other, contacts)
    # ...while org_b is not affected.
    call_b = call_start(
        agent=world.supervisor,
        organization=world.org_b,
        caller_number=UNREGISTERED_CALLER,
        now=timezone.now(),
    )
    code_send(
        call=call_b,
        agent=world.supervisor,
        channel_id=contacts.other_org_email.pk,
        channel_kind="email",
        now=timezone.now(),
    )

    assert PinChallenge.objects.filter(organization=world.org_a).count() == 3
    clock.shift(timedelta(minutes=59, seconds=59))  # the first three are still in the hour
    with pytest.raises(VerificationError, match="in the last hour"):
        send_email_code(call, contacts)
    clock.shift(timedelta(seconds=1))  # an hour after them (and the end of the call)
    send_email_code(new_call(world), contacts)
    assert PinChallenge.objects.filter(organization=world.org_a).count() == 4


def test_at_most_ten_codes_per_organization_per_day(
    world: World, contacts: Contacts, call: Call, clock: TimeMachineFixture
) -> None:
    sent = 0
    first_at = timezone.now()
    while sent < 10:
        call = new_call(world)
        for _ in range(min(3, 10 - sent)):
            send_email_code(call, contacts)
            sent += 1
        clock.shift(timedelta(minutes=61))
    assert PinChallenge.objects.filter(organization=world.org_a).count() == 10

    call = new_call(world)
    with pytest.raises(VerificationError) as limited:
        send_email_code(call, contacts)
    # The oldest code leaves the 24-hour window a day after it was sent.
    next_at = timezone.localtime(first_at + timedelta(hours=24))
    assert limited.value.message == str(
        ERR_RATE_DAY % {"count": 10, "time": f"{next_at:%H:%M} UTC"}
    )
    assert last_event(EventKind.RATE_LIMITED).reason == "per_day"

    # The first three codes were sent 4 × 61 minutes ago; 20 hours on, they are more
    # than a day old and leave the window.
    clock.shift(timedelta(hours=20))
    call = new_call(world)
    _challenge, code = send_email_code(call, contacts)
    assert code_check(call=call, agent=world.agent, entry=code, now=timezone.now()).is_verified


def test_rate_limited_sends_send_nothing(world: World, contacts: Contacts, call: Call) -> None:
    for _ in range(3):
        send_email_code(call, contacts)
    count = len(code_messages())
    with pytest.raises(VerificationError):
        send_email_code(call, contacts)
    assert len(code_messages()) == count
    # The previous code is not voided by a refused send.
    assert PinChallenge.objects.live().filter(call=call).count() == 1


# --- Lock and unlock -----------------------------------------------------------------------


def test_the_hundredth_consecutive_failure_locks_the_organization(
    world: World, people: People, contacts: Contacts, call: Call
) -> None:
    challenge, code = send_email_code(call, contacts)
    OrganizationPinState.objects.filter(organization=world.org_a).update(consecutive_failures=98)

    refused(call, world.agent, wrong(code))  # 99
    assert OrganizationPinState.objects.get(organization=world.org_a).locked_at is None
    refused(call, world.agent, wrong(code))  # 100

    state = OrganizationPinState.objects.get(organization=world.org_a)
    assert state.locked_at is not None
    assert state.consecutive_failures == 100
    challenge.refresh_from_db()
    assert challenge.voided_at is not None  # an unlock will not revive it
    locked = last_event(EventKind.LOCKED)
    assert "100 consecutive failures" in locked.outcome
    assert "2 global admin(s) told" in locked.outcome
    lock_notices = notices_of("locked")
    assert sorted(m.to[0] for m in lock_notices) == sorted(
        [world.admin_a.user.email, people.admin_a2.user.email]
    )
    assert "100" in lock_notices[0].body


def test_a_locked_organization_refuses_codes_and_sends_none(
    world: World, contacts: Contacts, call: Call
) -> None:
    _challenge, code = send_email_code(call, contacts)
    OrganizationPinState.objects.filter(organization=world.org_a).update(locked_at=timezone.now())

    assert refused(call, world.agent, code).message == str(ERR_LOCKED)
    assert last_event(EventKind.CODE_REJECTED).reason == "locked"
    with pytest.raises(VerificationError, match=str(ERR_LOCKED)):
        send_email_code(call, contacts)
    assert last_event(EventKind.SEND_REFUSED).reason == "locked"
    # A registered number still verifies (POL-PIN-3 is not the PIN path).
    registered = call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=REGISTERED_PHONE,
        now=timezone.now(),
    )
    assert registered.is_verified


def test_only_a_supervisor_unlocks(
    world: World, people: People, contacts: Contacts, call: Call
) -> None:
    OrganizationPinState.objects.update_or_create(
        organization=world.org_a,
        defaults={"locked_at": timezone.now(), "consecutive_failures": 100},
    )

    for not_a_supervisor in (world.agent, world.admin_a.user):
        with pytest.raises(VerificationError, match=str(ERR_SUPERVISORS_ONLY)):
            pin_unlock(organization=world.org_a, supervisor=not_a_supervisor, now=timezone.now())
    assert OrganizationPinState.objects.get(organization=world.org_a).is_locked
    assert (
        VerificationEvent.objects.filter(
            kind=EventKind.ACCESS_REFUSED, reason="not_supervisor"
        ).count()
        == 2
    )

    state = pin_unlock(organization=world.org_a, supervisor=world.supervisor, now=timezone.now())

    assert state.locked_at is None
    assert state.consecutive_failures == 0
    assert state.unlocked_by == world.supervisor
    assert state.unlocked_at == timezone.now()
    event = last_event(EventKind.UNLOCKED)
    assert event.agent == world.supervisor
    assert "2 global admin(s) told" in event.outcome
    assert len(notices_of("unlocked")) == 2
    # Codes flow again.
    _challenge, code = send_email_code(call, contacts)
    assert code_check(call=call, agent=world.agent, entry=code, now=timezone.now()).is_verified

    with pytest.raises(VerificationError, match=str(ERR_NOT_LOCKED)):
        pin_unlock(organization=world.org_a, supervisor=world.supervisor, now=timezone.now())


# --- Notices and audit ---------------------------------------------------------------------


def test_every_global_admin_is_told_of_a_code_sent_and_used(
    world: World, people: People, contacts: Contacts, call: Call
) -> None:
    people.admin_a2.user.language = "pl"
    people.admin_a2.user.save()
    challenge, code = send_email_code(call, contacts)

    sent = notices_of("sent")
    recipients = sorted(m.to[0] for m in sent)
    assert recipients == sorted([world.admin_a.user.email, people.admin_a2.user.email])
    english = next(m for m in sent if m.to == [world.admin_a.user.email])
    assert english.subject == "A verification code was sent for Alpha Corp"
    assert challenge.channel_label in english.body
    assert world.agent.full_name in english.body
    assert "+48512345678" in english.body
    assert "Warsaw time" in english.body  # the zone in words, never its id
    assert "Europe/Warsaw" not in english.body
    polish = next(m for m in sent if m.to == [people.admin_a2.user.email])
    assert polish.subject == "Wysłano kod weryfikacyjny dla organizacji Alpha Corp"

    mail.outbox.clear()
    code_check(call=call, agent=world.agent, entry=code, now=timezone.now())
    used = notices_of("used")
    assert sorted(m.to[0] for m in used) == recipients
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert code not in message.body
        assert code not in message.alternatives[0].content
    # Neither the billing admin, the plain user nor the other tenant's admin hears of it.
    everyone = {address for message in mail.outbox for address in message.to}
    assert people.billing_a.user.email not in everyone
    assert world.user_a.user.email not in everyone
    assert world.admin_b.user.email not in everyone


def test_every_step_is_audited(world: World, contacts: Contacts, call: Call) -> None:
    _challenge, code = send_email_code(call, contacts)
    refused(call, world.agent, wrong(code))
    code_check(call=call, agent=world.agent, entry=code, now=timezone.now())
    call_end(call=call, agent=world.agent, now=timezone.now())

    events = list(call.events.order_by("pk"))
    assert [e.kind for e in events] == [
        EventKind.CALL_STARTED,
        EventKind.CODE_SENT,
        EventKind.CODE_REJECTED,
        EventKind.CODE_ACCEPTED,
        EventKind.CALL_ENDED,
    ]
    for event in events:
        assert event.organization == world.org_a
        assert event.agent == world.agent
        assert event.agent_label == world.agent.email
        assert event.created_at is not None
        assert code not in f"{event.outcome} {event.channel} {event.reason}"
        assert not CODE_IN_TEXT.search(event.outcome)
    assert events[1].channel == events[2].channel == events[3].channel
    assert events[1].channel.endswith("***@example.test")
    assert events[2].reason == "wrong"
    assert "Wrong entries of this code: 1 of 5" in events[2].outcome


def test_the_code_email_is_in_the_contacts_language(
    world: World, contacts: Contacts, call: Call
) -> None:
    world.admin_a.user.language = "pl"
    world.admin_a.user.save()
    send_email_code(call, contacts)
    [message] = [m for m in mail.outbox if CODE_IN_TEXT.search(m.body)]
    assert (
        message.subject == "Kod weryfikacyjny do rozmowy z pomocą techniczną w sprawie Alpha Corp"
    )
    assert "Pomoc techniczna nigdy nie prosi o ten kod" in message.body


def test_a_contact_who_is_no_member_gets_the_first_global_admins_language(
    world: World, contacts: Contacts, call: Call
) -> None:
    world.admin_a.user.language = "pl"
    world.admin_a.user.save()
    type(contacts.email).objects.filter(pk=contacts.email.pk).update(email="it@alpha.test")
    send_email_code(call, contacts)
    [message] = [m for m in mail.outbox if CODE_IN_TEXT.search(m.body)]
    assert message.to == ["it@alpha.test"]
    assert message.subject.startswith("Kod weryfikacyjny")


# --- Settings and staff --------------------------------------------------------------------


def test_the_policy_comes_from_settings(
    world: World, contacts: Contacts, call: Call, settings: Any
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, PIN_MAX_WRONG_PER_CODE=2)
    _challenge, code = send_email_code(call, contacts)
    refused(call, world.agent, wrong(code))
    refused(call, world.agent, wrong(code))
    assert refused(call, world.agent, code).message == str(ERR_CODE_USED_UP % {"count": 2})
    assert last_event(EventKind.CODE_REJECTED).reason == "exhausted"


def test_the_hash_is_keyed_by_the_pepper(
    world: World, contacts: Contacts, call: Call, settings: Any
) -> None:
    settings.PIN_PEPPER = "first pepper"
    _challenge, code = send_email_code(call, contacts)
    settings.PIN_PEPPER = "rotated pepper"
    assert refused(call, world.agent, code).message == INVALID
    assert last_event(EventKind.CODE_REJECTED).reason == "wrong"


def test_only_staff_send_and_check_codes(world: World, contacts: Contacts, call: Call) -> None:
    from verification.services import ERR_NOT_AGENT

    admin = world.admin_a.user
    with pytest.raises(VerificationError, match=str(ERR_NOT_AGENT)):
        code_send(
            call=call,
            agent=admin,
            channel_id=contacts.email.pk,
            channel_kind="email",
            now=timezone.now(),
        )
    _challenge, code = send_email_code(call, contacts)
    with pytest.raises(VerificationError, match=str(ERR_NOT_AGENT)):
        code_check(call=call, agent=admin, entry=code, now=timezone.now())
    assert code_check(call=call, agent=world.agent, entry=code, now=timezone.now()).is_verified


def test_html_parts_escape_names(world: World, contacts: Contacts, call: Call) -> None:
    world.org_a.name = "Alpha <script>x</script>"
    world.org_a.save()
    send_email_code(call, contacts)
    for message in mail.outbox:
        html = message.alternatives[0].content
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
    assert "Alpha <script>x</script>" in code_messages()[0].subject  # plain text stays plain


def _every_value_in_redis(url: str) -> list[bytes]:
    """Every key and value of the Redis database in use (cache, broker), with Celery
    message bodies base64-decoded, so a code hidden in a task argument is found too."""
    import base64
    import json

    import redis

    client = redis.Redis.from_url(url)
    values: list[bytes] = []
    for key in client.scan_iter(count=1000):
        values.append(key)
        kind = client.type(key)
        if kind == b"string":
            items = [client.get(key) or b""]
        elif kind == b"list":
            items = client.lrange(key, 0, -1)
        elif kind == b"hash":
            items = list(client.hgetall(key).values())
        elif kind == b"set":
            items = list(client.smembers(key))
        elif kind == b"zset":
            items = client.zrange(key, 0, -1)
        else:
            items = []
        for item in items:
            values.append(item)
            try:
                body = json.loads(item).get("body", "")
                values.append(base64.b64decode(body))
            except (ValueError, AttributeError, TypeError):
                pass
    return values


def test_the_code_never_reaches_redis(
    world: World, contacts: Contacts, call: Call, settings: pytest.FixtureRequest
) -> None:
    import os

    if not os.environ.get("REDIS_URL"):
        if os.environ.get("SUPPORTDESK_CI") == "1":
            pytest.fail("CI must check Redis: REDIS_URL is not set")
        pytest.skip("no REDIS_URL: nothing to scan (CI runs this with Redis)")
    # Publishing on: a code that leaked into a task argument would land in Redis.
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, OUTBOX_TASKS=True)
    from django.core.cache import cache

    cache.set("supportdesk-test-probe", "present", 30)
    send_email_code(call, contacts)
    code = last_code()
    code_check(call=call, agent=world.agent, entry=code, now=timezone.now())
    # The cache's database (each pytest-xdist worker has its own) and the broker's.
    databases = {settings.CACHES["default"]["LOCATION"], settings.CELERY_BROKER_URL}
    values = [value for database in sorted(databases) for value in _every_value_in_redis(database)]
    assert b"present" in b"".join(values)  # the scan does see what the app writes
    assert not [v for v in values if code.encode() in v]
    cache.delete("supportdesk-test-probe")
