"""A customer with a real conversation, for the privacy tests: a request they filed with a
file, support's answer, their reply with a file, a resolution and a rating, a registered
contact, a call from their number and a help-centre search."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from helpcenter.models import HelpSearch, Service
from privacy.models import ExportJob, ExportStatus, ExportVia
from tenants.models import Membership, RegisteredEmail, RegisteredPhone, Role, User
from tests.conftest import T0, World
from tests.factories import MembershipFactory
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.services import (
    TicketDraft,
    ticket_agent_reply,
    ticket_create,
    ticket_customer_reply,
    ticket_rate,
    ticket_resolve,
)
from verification.models import Call

EMAIL = "erin.example@alpha.test"
NAME = "Erin Example"
PHONE = "+48600700800"
FILE_BYTES = b"trace line 1\ntrace line 2\n"
REPLY_FILE_BYTES = b"second trace\n"


@dataclass
class Story:
    member: Membership
    ticket: Ticket

    @property
    def user(self) -> User:
        return self.member.user


def customer_story(world: World) -> Story:
    member = MembershipFactory(
        organization=world.org_a,
        role=Role.SERVICE_SUPPORT_ADMIN,
        user__email=EMAIL,
        user__full_name=NAME,
        user__phone=PHONE,
    )
    customer = Actor.for_member(member)
    ticket = ticket_create(
        organization=world.org_a,
        actor=customer,
        draft=TicketDraft(
            title="Cannot send mail",
            description="Outbound mail is stuck in the outbox for everyone.",
            category="technical",
            impact="degraded",
            scope="many",
            contact_email=EMAIL,
            contact_phone=PHONE,
            contact_24x7=f"{NAME}, {PHONE}",
            product=Service.objects.get(slug="exchange-online"),
        ),
        now=T0,
        attachments=[SimpleUploadedFile("trace.txt", FILE_BYTES)],
    )
    agent = Actor.for_user(world.agent)
    ticket_agent_reply(
        ticket=ticket, actor=agent, body="Could you send the headers?", now=T0 + timedelta(hours=1)
    )
    ticket_customer_reply(
        ticket=ticket,
        actor=customer,
        body="Here they are.",
        now=T0 + timedelta(hours=2),
        attachments=[SimpleUploadedFile("headers.txt", REPLY_FILE_BYTES)],
    )
    ticket_resolve(
        ticket=ticket, actor=agent, reason="Fixed the connector.", now=T0 + timedelta(hours=3)
    )
    ticket_rate(
        ticket=ticket, actor=customer, score=5, comment="Quick!", now=T0 + timedelta(hours=4)
    )
    RegisteredEmail.objects.create(organization=world.org_a, email=EMAIL, created_at=T0)
    RegisteredPhone.objects.create(organization=world.org_a, number=PHONE, created_at=T0)
    Call.objects.create(
        organization=world.org_a,
        agent=world.agent,
        caller_number=PHONE,
        started_at=T0,
        expires_at=T0 + timedelta(hours=1),
    )
    HelpSearch.objects.create(
        organization=world.org_a, user=member.user, query="mail stuck", language="en"
    )
    ticket.refresh_from_db()
    return Story(member, ticket)


def ready_export(*, requester: User, organization: object, via: str) -> ExportJob:
    """A finished export with a small zip in storage, as the worker leaves it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export.json", "{}")
    name = default_storage.save("privacy/exports/test.zip", ContentFile(buffer.getvalue()))
    now = timezone.now()
    return ExportJob.objects.create(
        kind="organization",
        organization=organization,
        requested_by=requester,
        requested_via=via,
        status=ExportStatus.READY,
        file=name,
        size=len(buffer.getvalue()),
        total=1,
        done=1,
        finished_at=now,
        expires_at=now + timedelta(days=7),
    )


__all__ = ["ExportVia", "customer_story", "ready_export"]
