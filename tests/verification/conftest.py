"""Fixtures for caller verification: registered contacts past and inside their cool-off,
the SMS outbox, a second agent, more admins, and helpers that learn a sent code the way
the caller would (from the message), since the code is stored nowhere.

Every test here starts at ``T0`` with the clock stopped (``clock``) and travels in time
with ``clock.shift(...)``: the services take ``now`` from the views' clock, so "ten
minutes later" is a move of the clock, never a rewrite of rows.

Django is imported inside the fixtures and helpers: this folder also holds the pure tier's
``test_pins.py``, which runs without Django (``pytest -p no:django``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import T0, World

if TYPE_CHECKING:
    from django.core import mail
    from time_machine import TimeMachineFixture

    from tenants.models import Membership, RegisteredEmail, RegisteredPhone, User
    from verification import delivery
    from verification.models import Call

# Numbers in the world: Alpha Corp is in Poland (the factories' default country).
REGISTERED_PHONE = "+48600100123"
COOLING_PHONE = "+48600100999"
UNREGISTERED_CALLER = "+48 512 345 678"
OTHER_ORG_PHONE = "+48601200300"

CODE_IN_TEXT = re.compile(r"(?<!\d)(\d{8})(?!\d)")


@dataclass
class Contacts:
    email: RegisteredEmail  # past its cool-off
    phone: RegisteredPhone  # past its cool-off
    cooling_email: RegisteredEmail  # registered an hour ago: still in its 48-hour cool-off
    cooling_phone: RegisteredPhone
    other_org_email: RegisteredEmail  # org_b's contact, usable


@dataclass
class People:
    agent2: User
    admin_a2: Membership  # a second global admin of org_a
    billing_a: Membership  # an admin of org_a who is not a global admin


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> TimeMachineFixture | None:
    """The clock, stopped at ``T0``; pure tests (``test_pins.py``) have no clock."""
    if request.node.get_closest_marker("pure") is not None:
        return None
    machine: TimeMachineFixture = request.getfixturevalue("time_machine")
    machine.move_to(T0, tick=False)
    return machine


@pytest.fixture
def sms_outbox(settings: Any) -> Iterator[list[delivery.SmsMessage]]:
    """Text messages stay in memory; the contacts bring it, as a code needs a contact."""
    from verification import delivery

    settings.SMS_BACKEND = "verification.delivery.OutboxSmsBackend"
    settings.SMS_SENDER = "supportdesk"
    delivery.outbox.clear()
    yield delivery.outbox
    delivery.outbox.clear()


@pytest.fixture
def contacts(world: World, sms_outbox: list[delivery.SmsMessage]) -> Contacts:
    from django.utils import timezone

    from tenants.models import RegisteredEmail, RegisteredPhone

    now = timezone.now()
    past = {"created_at": now - timedelta(days=30), "active_from": now - timedelta(days=28)}
    return Contacts(
        email=RegisteredEmail.objects.create(
            organization=world.org_a, email=world.admin_a.user.email, label="IT", **past
        ),
        phone=RegisteredPhone.objects.create(
            organization=world.org_a, number=REGISTERED_PHONE, label="Front desk", **past
        ),
        cooling_email=RegisteredEmail.objects.create(
            organization=world.org_a,
            email="new.contact@alpha.test",
            created_at=now - timedelta(hours=1),
            active_from=now + timedelta(hours=47),
        ),
        cooling_phone=RegisteredPhone.objects.create(
            organization=world.org_a,
            number=COOLING_PHONE,
            created_at=now - timedelta(hours=1),
            active_from=now + timedelta(hours=47),
        ),
        other_org_email=RegisteredEmail.objects.create(
            organization=world.org_b, email=world.admin_b.user.email, **past
        ),
    )


@pytest.fixture
def people(world: World) -> People:
    from tenants.models import Role
    from tests.factories import AgentFactory, MembershipFactory

    return People(
        agent2=AgentFactory(email="agent2@provider.test"),
        admin_a2=MembershipFactory(organization=world.org_a, role=Role.GLOBAL_ADMIN),
        billing_a=MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN),
    )


@pytest.fixture
def call(world: World, contacts: Contacts) -> Call:
    """An unverified call to org_a from an unregistered number, taken by the agent."""
    from django.utils import timezone

    from verification.services import call_start

    return call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=UNREGISTERED_CALLER,
        now=timezone.now(),
    )


def code_messages() -> list[mail.EmailMessage]:
    from django.core import mail

    from tenants.mail import KIND_HEADER

    return [m for m in mail.outbox if m.extra_headers.get(KIND_HEADER) == "verification-code"]


def last_code(sms: list[delivery.SmsMessage] | None = None) -> str:
    """The code of the newest message carrying one: what the caller reads out."""
    if sms:
        return CODE_IN_TEXT.findall(sms[-1].body)[0]
    messages = code_messages()
    assert messages, "no code was sent"
    return CODE_IN_TEXT.findall(messages[-1].body)[0]


def wrong(code: str) -> str:
    """A different well-formed code."""
    return f"{(int(code) + 1) % 10**8:08d}"
