"""Calls: the caller's number, the registered-number match (POL-PIN-3), ending a call,
and the access function the desk will use (POL-PIN-2: that agent, that organization,
that call, at most 60 minutes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from time_machine import TimeMachineFixture

from tests.conftest import World
from tests.factories import UserFactory
from tests.verification.conftest import (
    COOLING_PHONE,
    REGISTERED_PHONE,
    UNREGISTERED_CALLER,
    Contacts,
    People,
)
from verification.models import Call, EventKind, VerificationEvent, VerifiedBy
from verification.services import (
    ERR_INVALID_NUMBER,
    ERR_NOT_AGENT,
    ERR_NOT_YOUR_CALL,
    ERR_VERIFY_FIRST,
    VerificationError,
    active_call,
    call_end,
    call_start,
    require_active_call,
)

pytestmark = pytest.mark.django_db


def kinds(call: Call) -> list[str]:
    return list(call.events.order_by("pk").values_list("kind", flat=True))


@pytest.mark.parametrize("typed", [REGISTERED_PHONE, "600 100 123", "+48 600-100-123"])
def test_a_registered_number_verifies_the_call_at_once(
    world: World, contacts: Contacts, typed: str
) -> None:
    now = timezone.now()
    call = call_start(agent=world.agent, organization=world.org_a, caller_number=typed, now=now)

    assert call.verified_at == now
    assert call.verified_by == VerifiedBy.REGISTERED_NUMBER
    assert str(call.caller_number) == REGISTERED_PHONE
    assert kinds(call) == [EventKind.CALL_STARTED, EventKind.REGISTERED_NUMBER_MATCH]
    assert active_call(agent=world.agent, organization=world.org_a, now=now) == call


def test_an_unregistered_number_starts_an_unverified_call(world: World, contacts: Contacts) -> None:
    now = timezone.now()
    call = call_start(
        agent=world.agent, organization=world.org_a, caller_number=UNREGISTERED_CALLER, now=now
    )

    assert call.verified_at is None
    assert call.verified_by == ""
    assert call.expires_at == now + timedelta(minutes=60)
    assert kinds(call) == [EventKind.CALL_STARTED]
    assert active_call(agent=world.agent, organization=world.org_a, now=now) is None


def test_a_registered_number_in_its_cool_off_does_not_verify(
    world: World, contacts: Contacts
) -> None:
    call = call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=COOLING_PHONE,
        now=timezone.now(),
    )

    assert call.verified_at is None
    event = call.events.get(kind=EventKind.ACCESS_REFUSED)
    assert event.reason == "cooling_off"


def test_another_organizations_registered_number_does_not_verify(
    world: World, contacts: Contacts
) -> None:
    call = call_start(
        agent=world.agent,
        organization=world.org_b,
        caller_number=REGISTERED_PHONE,
        now=timezone.now(),
    )
    assert call.verified_at is None


def test_the_organizations_country_is_the_default_region(world: World, contacts: Contacts) -> None:
    world.org_b.country = "US"
    world.org_b.save()
    call = call_start(
        agent=world.agent,
        organization=world.org_b,
        caller_number="(202) 555-0123",
        now=timezone.now(),
    )
    assert str(call.caller_number) == "+12025550123"


@pytest.mark.parametrize("typed", ["", "12", "not a number", "+48 123", "+999 600 100 123"])
def test_an_invalid_number_is_refused_clearly(world: World, contacts: Contacts, typed: str) -> None:
    with pytest.raises(VerificationError) as refused:
        call_start(
            agent=world.agent, organization=world.org_a, caller_number=typed, now=timezone.now()
        )
    assert refused.value.code == "invalid_number"
    assert refused.value.message == str(ERR_INVALID_NUMBER % {"number": typed.strip()})
    assert not Call.objects.exists()


def test_only_staff_take_calls(world: World, contacts: Contacts) -> None:
    for user in (world.admin_a.user, UserFactory(is_active=True)):
        with pytest.raises(VerificationError, match=str(ERR_NOT_AGENT)):
            call_start(
                agent=user,
                organization=world.org_a,
                caller_number=REGISTERED_PHONE,
                now=timezone.now(),
            )
    assert not Call.objects.exists()


def test_starting_a_call_ends_the_agents_other_open_calls(world: World, contacts: Contacts) -> None:
    now = timezone.now()
    first = call_start(
        agent=world.agent, organization=world.org_a, caller_number=REGISTERED_PHONE, now=now
    )
    second = call_start(
        agent=world.agent, organization=world.org_b, caller_number=UNREGISTERED_CALLER, now=now
    )

    first.refresh_from_db()
    assert first.ended_at == now
    assert second.ended_at is None
    assert active_call(agent=world.agent, organization=world.org_a, now=now) is None
    ended = first.events.get(kind=EventKind.CALL_ENDED)
    assert ended.reason == "superseded"


# --- Access --------------------------------------------------------------------------------


@pytest.fixture
def verified(world: World, contacts: Contacts) -> Call:
    return call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=REGISTERED_PHONE,
        now=timezone.now(),
    )


def test_access_lasts_at_most_sixty_minutes_from_the_start(world: World, verified: Call) -> None:
    start = verified.started_at
    at = {
        minutes: active_call(
            agent=world.agent, organization=world.org_a, now=start + timedelta(minutes=minutes)
        )
        for minutes in (0, 59, 60, 61)
    }
    assert at == {0: verified, 59: verified, 60: None, 61: None}


def test_access_is_for_that_agent_and_that_organization_only(
    world: World, people: People, verified: Call
) -> None:
    now = timezone.now()
    assert active_call(agent=world.agent, organization=world.org_a, now=now) == verified
    assert active_call(agent=people.agent2, organization=world.org_a, now=now) is None
    assert active_call(agent=world.supervisor, organization=world.org_a, now=now) is None
    assert active_call(agent=world.agent, organization=world.org_b, now=now) is None


def test_access_can_be_bound_to_the_call_of_the_page(world: World, verified: Call) -> None:
    now = timezone.now()
    assert (
        active_call(agent=world.agent, organization=world.org_a, now=now, call_id=verified.pk)
        == verified
    )
    assert (
        active_call(agent=world.agent, organization=world.org_a, now=now, call_id=verified.pk + 1)
        is None
    )


def test_a_deactivated_agent_has_no_access(world: World, verified: Call) -> None:
    world.agent.is_active = False
    world.agent.save()
    assert active_call(agent=world.agent, organization=world.org_a, now=timezone.now()) is None


def test_ending_the_call_ends_access(
    world: World, verified: Call, clock: TimeMachineFixture
) -> None:
    ended = call_end(call=verified, agent=world.agent, now=timezone.now())

    assert ended.ended_at == timezone.now()
    assert active_call(agent=world.agent, organization=world.org_a, now=timezone.now()) is None
    assert kinds(verified)[-1] == EventKind.CALL_ENDED
    # Ending twice, a minute later, changes nothing and records nothing more.
    clock.shift(timedelta(minutes=1))
    assert call_end(call=verified, agent=world.agent, now=timezone.now()).ended_at == ended.ended_at
    assert kinds(verified).count(EventKind.CALL_ENDED) == 1


def test_only_the_calls_agent_ends_it(world: World, people: People, verified: Call) -> None:
    with pytest.raises(VerificationError, match=str(ERR_NOT_YOUR_CALL)):
        call_end(call=verified, agent=people.agent2, now=timezone.now())
    verified.refresh_from_db()
    assert verified.ended_at is None
    assert verified.events.filter(kind=EventKind.ACCESS_REFUSED, agent=people.agent2).exists()


def test_require_active_call_refuses_clearly_and_records_it(
    world: World, contacts: Contacts
) -> None:
    with pytest.raises(VerificationError) as refused:
        require_active_call(agent=world.agent, organization=world.org_a, now=timezone.now())
    assert refused.value.message == str(ERR_VERIFY_FIRST)
    assert refused.value.message.startswith("Verify the caller first:")
    assert refused.value.code == "unverified"
    event = VerificationEvent.objects.get(kind=EventKind.ACCESS_REFUSED)
    assert (event.organization, event.agent, event.reason) == (
        world.org_a,
        world.agent,
        "unverified",
    )


def test_require_active_call_returns_the_call(world: World, verified: Call) -> None:
    assert (
        require_active_call(agent=world.agent, organization=world.org_a, now=timezone.now())
        == verified
    )


def test_the_database_refuses_a_call_that_expires_before_it_starts(
    world: World, contacts: Contacts
) -> None:
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.create(
            organization=world.org_a,
            agent=world.agent,
            caller_number=REGISTERED_PHONE,
            started_at=now,
            expires_at=now,
        )


def test_the_database_refuses_a_verified_call_without_a_method(
    world: World, contacts: Contacts
) -> None:
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Call.objects.create(
            organization=world.org_a,
            agent=world.agent,
            caller_number=REGISTERED_PHONE,
            started_at=now,
            expires_at=now + timedelta(minutes=60),
            verified_at=now,
        )


# --- The panel's reads -----------------------------------------------------------------------


def test_channel_choices_are_masked_and_show_the_cool_off(world: World, contacts: Contacts) -> None:
    from verification.selectors import channel_choices, pin_locked

    choices = channel_choices(organization=world.org_a, now=timezone.now())

    labels = {(c.kind, c.label, c.usable) for c in choices}
    assert ("phone", "+48 *** *** 123", True) in labels
    assert ("phone", "+48 *** *** 999", False) in labels
    assert ("email", "n***@alpha.test", False) in labels
    assert len(choices) == 4  # org_b's contact is not listed
    for choice in choices:
        assert "@" not in choice.label or choice.label.split("@")[0].endswith("***")
    assert not pin_locked(world.org_a)
