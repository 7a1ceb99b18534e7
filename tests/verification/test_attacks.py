"""Attacks on the PIN path: a race of correct submissions, and a brute force."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone
from time_machine import TimeMachineFixture

from tests.conftest import World
from tests.verification.conftest import (
    UNREGISTERED_CALLER,
    Contacts,
    last_code,
)
from verification.models import (
    Call,
    EventKind,
    OrganizationPinState,
    PinChallenge,
    VerificationEvent,
)
from verification.services import (
    ERR_CODE_INVALID,
    ERR_CODE_USED_UP,
    ERR_LOCKED,
    ERR_RATE_HOUR,
    VerificationError,
    active_call,
    call_start,
    code_check,
    code_send,
)

SUBMISSIONS = 50
GUESSES = 10_000


# Concurrent writers need PostgreSQL: SQLite serialises every write transaction, so the
# race cannot happen there.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_correct_submissions_verify_exactly_once(
    world: World, contacts: Contacts
) -> None:
    call = call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=UNREGISTERED_CALLER,
        now=timezone.now(),
    )
    code_send(
        call=call,
        agent=world.agent,
        channel_id=contacts.email.pk,
        channel_kind="email",
        now=timezone.now(),
    )
    code = last_code()
    barrier = threading.Barrier(SUBMISSIONS)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def submit() -> None:
        try:
            barrier.wait()
            try:
                code_check(call=call, agent=world.agent, entry=code, now=timezone.now())
                outcome = "verified"
            except VerificationError as refused:
                outcome = refused.message
            with lock:
                results.append(outcome)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert results.count("verified") == 1
    assert results.count(str(ERR_CODE_INVALID)) == SUBMISSIONS - 1
    assert PinChallenge.objects.get().used_at is not None
    assert VerificationEvent.objects.filter(kind=EventKind.CODE_ACCEPTED).count() == 1
    assert VerificationEvent.objects.filter(kind=EventKind.CODE_REJECTED).count() == SUBMISSIONS - 1
    assert Call.objects.get(pk=call.pk).is_verified
    assert len([m for m in mail.outbox if "was used" in m.subject]) == 1


@pytest.mark.django_db
def test_a_ten_thousand_guess_brute_force_gets_nowhere(world: World, contacts: Contacts) -> None:
    """An attacker on the phone makes an agent type 10,000 guesses, asking for a new code
    whenever the limits allow, and even learns each code after it died. Zero successes:
    each code dies after 5 wrong entries, the organization locks at the 100th consecutive
    failure, and from then on every entry is refused without touching any code."""
    call = call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=UNREGISTERED_CALLER,
        now=timezone.now(),
    )
    accepted = 0
    codes_sent = 0
    refused_sends: list[str] = []
    locked_at_guess: int | None = None

    def guess(entry: str) -> None:
        nonlocal accepted
        try:
            code_check(call=call, agent=world.agent, entry=entry, now=timezone.now())
            accepted += 1
        except VerificationError as refused:
            # Wrong digits, a code used up by them, or the organization locked: never a
            # word about the digits themselves.
            assert refused.message in told

    told = {
        str(ERR_CODE_INVALID),
        str(ERR_CODE_USED_UP % {"count": 5}),
        str(ERR_LOCKED),
    }
    number = 0
    # Until the lock: ask for a code whenever the limits allow (every 6th guess), guess,
    # and after 5 wrong entries try the code's true digits too.
    while number < GUESSES and locked_at_guess is None:
        if number % 6 == 0:
            try:
                code_send(
                    call=call,
                    agent=world.agent,
                    channel_id=contacts.email.pk,
                    channel_kind="email",
                    now=timezone.now(),
                )
                codes_sent += 1
            except VerificationError as refused:
                refused_sends.append(refused.message)
        true_code = last_code() if codes_sent else None
        candidate = f"{number:08d}"
        if candidate == true_code:
            candidate = f"{(number + GUESSES) % 10**8:08d}"
        guess(candidate)
        live = PinChallenge.objects.filter(call=call).order_by("-pk").first()
        if live is not None and live.wrong_attempts == 5 and live.used_at is None:
            guess(true_code or "")  # the right code, after 5 wrong entries: dead
        number += 1
        if OrganizationPinState.objects.get(organization=world.org_a).is_locked:
            locked_at_guess = number

    snapshot = list(
        PinChallenge.objects.order_by("pk").values_list(
            "pk", "wrong_attempts", "used_at", "voided_at"
        )
    )
    # Locked: the true code of the last challenge is refused, and no code can be sent.
    assert true_code is not None
    guess(true_code)
    with pytest.raises(VerificationError, match=str(ERR_LOCKED)):
        code_send(
            call=call,
            agent=world.agent,
            channel_id=contacts.email.pk,
            channel_kind="email",
            now=timezone.now(),
        )
    # The rest of the 10,000: each refused at the lock, touching no code.
    while number < GUESSES:
        guess(f"{number:08d}")
        number += 1

    assert accepted == 0
    assert codes_sent == 3  # the hourly limit; the day's limit was never reached
    assert refused_sends
    assert all(
        m.startswith(str(ERR_RATE_HOUR).split(" Next")[0] % {"count": 3})
        and "Next code possible at" in m
        for m in refused_sends
    )
    assert locked_at_guess is not None and locked_at_guess < 100
    state = OrganizationPinState.objects.get(organization=world.org_a)
    assert state.consecutive_failures == 100  # nothing counted after the lock
    assert not Call.objects.get(pk=call.pk).is_verified
    assert active_call(agent=world.agent, organization=world.org_a, now=timezone.now()) is None
    challenges = list(PinChallenge.objects.order_by("pk"))
    assert all(c.used_at is None for c in challenges)
    assert [c.wrong_attempts for c in challenges] == [5, 5, 5]  # each dead after 5
    assert all(c.voided_at is not None for c in challenges)
    # After the lock every attempt was refused without touching a code.
    assert snapshot == list(
        PinChallenge.objects.order_by("pk").values_list(
            "pk", "wrong_attempts", "used_at", "voided_at"
        )
    )
    locked_refusals = VerificationEvent.objects.filter(
        kind=EventKind.CODE_REJECTED, reason="locked"
    ).count()
    assert locked_refusals >= GUESSES - 100
    assert VerificationEvent.objects.filter(kind=EventKind.LOCKED).count() == 1
    assert len([m for m in mail.outbox if "are locked" in m.subject]) == 1


@pytest.mark.django_db
def test_brute_force_across_the_day_stays_inside_ten_codes(
    world: World, contacts: Contacts, clock: TimeMachineFixture
) -> None:
    """Spread over a day, an attacker gets 10 codes × 5 wrong entries = 50 guesses at
    10^8 codes, and the lock still comes at the 100th failure."""
    sent = 0
    for hour in range(8):
        # A new call every time: a call's access lasts 60 minutes.
        call = call_start(
            agent=world.agent,
            organization=world.org_a,
            caller_number=UNREGISTERED_CALLER,
            now=timezone.now(),
        )
        for _ in range(4):
            try:
                code_send(
                    call=call,
                    agent=world.agent,
                    channel_id=contacts.email.pk,
                    channel_kind="email",
                    now=timezone.now(),
                )
                sent += 1
            except VerificationError:
                pass
            code = last_code()
            for attempt in range(6):
                try:
                    code_check(
                        call=call,
                        agent=world.agent,
                        entry=f"{(int(code) + attempt + 1) % 10**8:08d}",
                        now=timezone.now(),
                    )
                    pytest.fail("a wrong code was accepted")
                except VerificationError:
                    pass
        clock.shift(timedelta(minutes=61 + hour))
    assert sent == 10
    assert PinChallenge.objects.filter(wrong_attempts=5).count() == 10
    assert OrganizationPinState.objects.get(organization=world.org_a).is_locked
