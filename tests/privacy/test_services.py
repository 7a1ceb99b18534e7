"""Privacy services: exports (contents, once-only download, expiry), erasure (every
personal field, SLA figures kept) and the retention purge."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.db import models

from audit.actions import Action
from audit.models import AuditEntry
from audit.services import record
from privacy import services
from privacy.models import ExportJob, ExportStatus, ExportVia
from tenants.models import (
    Membership,
    Organization,
    RegisteredEmail,
    RegisteredPhone,
    Role,
    User,
)
from tenants.retention import RetentionRefused, retention_set
from tests.conftest import T0, World
from tests.factories import MembershipFactory
from tests.privacy.helpers import (
    EMAIL,
    FILE_BYTES,
    NAME,
    PHONE,
    REPLY_FILE_BYTES,
    customer_story,
    ready_export,
)
from tickets.models import (
    ActorKind,
    Attachment,
    Event,
    EventKind,
    Message,
    OutgoingMail,
    Status,
    Ticket,
)
from tickets.notifications import notifications_for
from tickets.outbox import deliver_events
from webhooks.models import WebhookDelivery, WebhookEventType
from webhooks.services import deliveries_for_events, endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: object, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)  # type: ignore[attr-defined]


def _zip(job: ExportJob) -> zipfile.ZipFile:
    assert job.status == ExportStatus.READY, job.error
    return zipfile.ZipFile(default_storage.open(job.file, "rb"))


def _json(archive: zipfile.ZipFile, name: str) -> object:
    return json.loads(archive.read(name))


# --- Export ------------------------------------------------------------------------------------


def test_organization_export_holds_json_and_the_files_bytes(world: World) -> None:
    story = customer_story(world)
    other = world.file(world.admin_a, title="Printer on fire")
    foreign = world.file(world.admin_b, title="Bravo's secret")
    job = services.export_request(
        requester=world.supervisor, via=ExportVia.DESK, organization=world.org_a, now=T0
    )
    assert AuditEntry.objects.filter(action=Action.EXPORT_REQUESTED, target_id=str(job.pk)).exists()

    job = services.export_run(job.pk, batch_size=1)

    assert (job.total, job.done, job.percent) == (3, 3, 100)
    assert job.size > 0 and job.expires_at is not None
    archive = _zip(job)
    names = set(archive.namelist())
    assert {"organization.json", "members.json", "contacts.json", "export.json"} <= names
    assert _json(archive, "organization.json")["name"] == "Alpha Corp"  # type: ignore[index]
    members = {m["email"] for m in _json(archive, "members.json")}  # type: ignore[union-attr]
    assert EMAIL in members and world.admin_a.user.email in members
    assert world.admin_b.user.email not in members
    contacts = _json(archive, "contacts.json")
    assert [e["email"] for e in contacts["emails"]] == [EMAIL]  # type: ignore[index]
    document = _json(archive, f"requests/{story.ticket.reference}.json")
    assert document["contact_email"] == EMAIL  # type: ignore[index]
    bodies = [m["body"] for m in document["messages"]]  # type: ignore[index]
    assert "Could you send the headers?" in bodies and "Here they are." in bodies
    assert document["rating"]["score"] == 5  # type: ignore[index]
    assert {e["kind"] for e in document["events"]} >= {"created", "resolved"}  # type: ignore[index]
    files = {a["name"]: a["file"] for a in document["attachments"]}  # type: ignore[index]
    assert archive.read(files["trace.txt"]) == FILE_BYTES
    assert archive.read(files["headers.txt"]) == REPLY_FILE_BYTES
    assert f"requests/{other.reference}.json" in names
    assert f"requests/{foreign.reference}.json" not in names
    assert b"Bravo" not in b"".join(archive.read(n) for n in names)


def test_export_leaves_internal_notes_out(world: World) -> None:
    from tickets.actors import Actor
    from tickets.services import ticket_internal_note

    ticket = world.file()
    ticket_internal_note(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Customer is rude", now=T0
    )
    job = services.export_request(
        requester=world.admin_a.user, via=ExportVia.PORTAL, organization=world.org_a, now=T0
    )
    archive = _zip(services.export_run(job.pk))
    assert b"Customer is rude" not in archive.read(f"requests/{ticket.reference}.json")


def test_person_export_holds_their_own_words_and_files_only(world: World) -> None:
    story = customer_story(world)
    someone_elses = world.file(world.admin_a, title="Not Erin's")
    job = services.export_request(
        requester=world.admin_a.user,
        via=ExportVia.PORTAL,
        organization=world.org_a,
        person=story.user,
        now=T0,
    )
    archive = _zip(services.export_run(job.pk))
    profile = _json(archive, "profile.json")
    assert profile["email"] == EMAIL and profile["full_name"] == NAME  # type: ignore[index]
    assert profile["memberships"][0]["organization"] == "Alpha Corp"  # type: ignore[index]
    document = _json(archive, f"requests/{story.ticket.reference}.json")
    assert document["filed_by_you"] is True  # type: ignore[index]
    assert [m["body"] for m in document["your_messages"]] == ["Here they are."]  # type: ignore[index]
    paths = [a["file"] for a in document["your_attachments"]]  # type: ignore[index]
    assert sorted(archive.read(p) for p in paths) == sorted([FILE_BYTES, REPLY_FILE_BYTES])
    assert f"requests/{someone_elses.reference}.json" not in archive.namelist()


def test_export_is_collected_once_by_its_requester(world: World) -> None:
    job = services.export_request(
        requester=world.admin_a.user, via=ExportVia.PORTAL, organization=world.org_a, now=T0
    )
    job = services.export_run(job.pk)
    with pytest.raises(services.PrivacyRefused):
        services.export_collect(job=job, user=world.user_a.user, now=T0)
    name = services.export_collect(job=job, user=world.admin_a.user, now=T0)
    assert name and default_storage.exists(name)
    with pytest.raises(services.PrivacyRefused) as second:
        services.export_collect(job=job, user=world.admin_a.user, now=T0)
    assert second.value.http_status == 410
    job.refresh_from_db()
    assert job.status == ExportStatus.DOWNLOADED and job.file == ""
    assert (
        AuditEntry.objects.filter(action=Action.EXPORT_DOWNLOADED, actor=world.admin_a.user).count()
        == 1
    )


def test_a_second_worker_does_not_run_a_taken_export(world: World) -> None:
    job = services.export_request(
        requester=world.supervisor, via=ExportVia.DESK, organization=world.org_a, now=T0
    )
    first = services.export_run(job.pk)
    again = services.export_run(job.pk)
    assert again.file == first.file and again.status == ExportStatus.READY


def test_uncollected_exports_expire_and_lose_their_file(world: World) -> None:
    job = ready_export(requester=world.supervisor, organization=world.org_a, via=ExportVia.DESK)
    assert default_storage.exists(job.file)
    assert services.exports_clean_up(now=job.expires_at - timedelta(minutes=1))["expired"] == 0  # type: ignore[operator]
    assert services.exports_clean_up(now=job.expires_at + timedelta(minutes=1))["expired"] == 1  # type: ignore[operator]
    assert not default_storage.exists(job.file)
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED


# --- Erasure -----------------------------------------------------------------------------------


def _text_values(needle: str) -> list[str]:
    """Every stored text or JSON value, in every table, that still holds the needle."""
    found = []
    for model in apps.get_models():
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField))
        ]
        if not fields:
            continue
        for row in model._base_manager.values_list(*fields):
            for field, value in zip(fields, row, strict=True):
                if needle.lower() in json.dumps(value, default=str).lower():
                    found.append(f"{model._meta.label}.{field}")
    return found


def _delivery_holding_the_contact(
    world: World, ticket: Ticket, *, email: str = EMAIL, name: str = NAME, phone: str = PHONE
) -> WebhookDelivery:
    """The ticket's Events handed to a subscribed endpoint of its organization, as the
    outbox does, and one delivery kept for re-sending that names the contact (a payload
    written with the request's contact details)."""
    endpoint = endpoint_create(
        organization=ticket.organization,
        url="http://127.0.0.1:9/hook",
        event_types=[t.value for t in WebhookEventType],
        description="",
        created_by=None,
        now=T0,
    ).endpoint
    assert deliveries_for_events(list(ticket.events.all()), now=T0)
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk").first()
    assert delivery is not None
    payload = dict(delivery.payload)
    payload["data"] = {
        **payload["data"],
        "contact": {"email": email.upper(), "name": name, "phone": phone},
    }
    WebhookDelivery.objects.filter(pk=delivery.pk).update(payload=payload)
    return delivery


def test_erasure_removes_every_personal_field_and_keeps_the_sla_figures(world: World) -> None:
    story = customer_story(world)
    user = story.user
    record(action=Action.CONTACT_ADDED, actor=user, organization=world.org_a, now=T0)
    ticket = story.ticket
    figures = Ticket.objects.filter(pk=ticket.pk).values(
        "severity", "original_severity", "status", "first_response_at", "first_response_due_at",
        "resolved_at", "created_at", "severity_reason",
    ).get()  # fmt: skip
    events = Event.objects.filter(ticket=ticket).count()
    messages = Message.objects.filter(ticket=ticket).count()
    contact = _delivery_holding_the_contact(world, ticket)
    assert "webhooks.WebhookDelivery.payload" in _text_values(EMAIL)
    assert "webhooks.WebhookDelivery.payload" in _text_values(NAME)
    assert "webhooks.WebhookDelivery.payload" in _text_values(PHONE)
    assert _text_values(EMAIL)  # the story did write the address around

    result = services.person_erase(person=user, actor=world.supervisor, now=T0)

    assert _text_values(EMAIL) == []
    assert _text_values(PHONE) == []
    assert _text_values(NAME) == []
    user.refresh_from_db()
    assert user.email == result.placeholder == services.erased_email(user.pk)
    assert (user.full_name, str(user.phone), user.is_active) == ("", "", False)
    assert not user.has_usable_password()
    assert not RegisteredEmail.objects.exists() and not RegisteredPhone.objects.exists()
    # The record of what happened stays whole.
    assert Ticket.objects.filter(pk=ticket.pk).values(*figures).get() == figures
    assert Event.objects.filter(ticket=ticket).count() == events
    assert Message.objects.filter(ticket=ticket).count() == messages
    assert Attachment.objects.filter(ticket=ticket).count() == 2
    assert ticket.rating.score == 5  # type: ignore[attr-defined]
    assert Membership.objects.filter(user=user).exists()
    erased = AuditEntry.objects.get(action=Action.PERSON_ERASED)
    assert erased.target_label == result.placeholder and erased.after["requests"] == 1
    # The delivery stays, sendable again, with the placeholder where the person was.
    contact.refresh_from_db()
    assert contact.payload["data"]["contact"] == {
        "email": result.placeholder,
        "name": result.placeholder,
        "phone": result.placeholder,
    }
    assert contact.payload["data"]["ticket"]["number"] == ticket.reference
    assert erased.after["webhook_deliveries"] == 1


def test_erasure_is_idempotent_and_drops_uncollected_exports_of_the_person(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    story = customer_story(world)
    job = services.export_request(
        requester=world.supervisor, via=ExportVia.DESK, person=story.user, now=T0
    )
    job = services.export_run(job.pk)
    assert default_storage.exists(job.file)
    with django_capture_on_commit_callbacks(execute=True):
        services.person_erase(person=story.user, actor=world.supervisor, now=T0)
    assert not default_storage.exists(job.file)
    assert ExportJob.objects.get(pk=job.pk).status == ExportStatus.EXPIRED
    again = services.person_erase(person=story.user, actor=world.supervisor, now=T0)
    assert again.already_erased
    assert AuditEntry.objects.filter(action=Action.PERSON_ERASED).count() == 1


def test_a_global_admin_erases_only_a_member_of_their_own_organization(world: World) -> None:
    admin = world.admin_a.user
    story = customer_story(world)
    with pytest.raises(services.PrivacyRefused, match="yourself"):
        services.person_erase(person=admin, actor=admin, organization=world.org_a, now=T0)
    MembershipFactory(organization=world.org_b, user=story.user, role=Role.USER)
    with pytest.raises(services.PrivacyRefused, match="another organization"):
        services.person_erase(person=story.user, actor=admin, organization=world.org_a, now=T0)
    Membership.objects.filter(organization=world.org_b, user=story.user).delete()
    with pytest.raises(services.PrivacyRefused, match="staff"):
        services.person_erase(person=world.agent, actor=world.supervisor, now=T0)
    second = MembershipFactory(organization=world.org_a, role=Role.GLOBAL_ADMIN).user
    Membership.objects.filter(user=admin).update(role=Role.USER)
    with pytest.raises(services.PrivacyRefused, match="only global admin"):
        services.person_erase(person=second, actor=admin, organization=world.org_a, now=T0)
    services.person_erase(person=story.user, actor=admin, organization=world.org_a, now=T0)
    story.user.refresh_from_db()
    assert not story.user.is_active


def test_portal_erasure_leaves_another_tenants_requests_alone(world: World) -> None:
    story = customer_story(world)
    bravo = world.file(world.admin_b, contact_email=EMAIL)
    own = _delivery_holding_the_contact(world, story.ticket)
    foreign = _delivery_holding_the_contact(world, bravo)
    services.person_erase(
        person=story.user, actor=world.admin_a.user, organization=world.org_a, now=T0
    )
    bravo.refresh_from_db()
    assert bravo.contact_email == EMAIL
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert EMAIL not in json.dumps(own.payload).lower()
    assert foreign.payload["data"]["contact"]["email"] == EMAIL.upper()


def test_erasure_scrubs_a_name_outside_ascii_from_webhook_deliveries(world: World) -> None:
    story = customer_story(world)
    User.objects.filter(pk=story.user.pk).update(full_name="Zoë Ørsted")
    story.user.refresh_from_db()
    delivery = _delivery_holding_the_contact(
        world, story.ticket, email="other@alpha.test", name="Zoë Ørsted", phone="+48111222333"
    )
    result = services.person_erase(person=story.user, actor=world.supervisor, now=T0)
    delivery.refresh_from_db()
    assert delivery.payload["data"]["contact"]["name"] == result.placeholder
    assert delivery.payload["data"]["contact"]["email"] == "OTHER@ALPHA.TEST"
    assert delivery.payload["data"]["contact"]["phone"] == "+48111222333"


# --- Retention ---------------------------------------------------------------------------------


def _close(ticket: Ticket, *, days_ago: int, now: object) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(
        status=Status.CLOSED,
        closed_at=now - timedelta(days=days_ago),  # type: ignore[operator]
    )


def test_retention_purges_only_the_organizations_closed_old_requests(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    now = T0 + timedelta(days=400)
    old = customer_story(world).ticket
    files = [a.file.name for a in old.attachments.all()]
    assert files and all(default_storage.exists(f) for f in files)
    recent, still_open, bravo_old = world.file(), world.file(), world.file(world.admin_b)
    _close(old, days_ago=100, now=now)
    _close(recent, days_ago=10, now=now)
    Ticket.objects.filter(pk=still_open.pk).update(created_at=now - timedelta(days=300))
    _close(bravo_old, days_ago=300, now=now)
    assert retention_set(organization=world.org_a, days=30, actor=world.admin_a.user, now=T0)

    with django_capture_on_commit_callbacks(execute=True):
        purge = services.retention_purge(now=now, batch_size=1)

    assert purge.requests == 1 and purge.files == 2
    assert not Ticket.objects.filter(pk=old.pk).exists()
    assert not Event.objects.filter(ticket_id=old.pk).exists()
    assert set(Ticket.objects.values_list("pk", flat=True)) == {
        recent.pk,
        still_open.pk,
        bravo_old.pk,
    }
    assert not any(default_storage.exists(f) for f in files)
    row = AuditEntry.objects.get(action=Action.RETENTION_PURGED)
    assert row.organization_id == world.org_a.pk
    assert row.after["count"] == 1 and row.after["references"] == [old.reference]
    changed = AuditEntry.objects.get(action=Action.RETENTION_CHANGED)
    assert (changed.before, changed.after) == ({"retention_days": None}, {"retention_days": 30})
    # A second run finds nothing more.
    assert services.retention_purge(now=now).requests == 0


def test_each_purge_batch_writes_an_organization_event_that_e_mails_nobody(
    world: World, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    now = T0 + timedelta(days=400)
    first, second, third = world.file(), world.file(), world.file()
    for ticket in (first, second, third):
        _close(ticket, days_ago=100, now=now)
    bravo_old = world.file(world.admin_b)
    _close(bravo_old, days_ago=300, now=now)
    hook = endpoint_create(
        organization=world.org_a, url="http://127.0.0.1:9/purged",
        event_types=["requests.purged"], description="", created_by=None, now=T0,
    ).endpoint  # fmt: skip
    endpoint_create(
        organization=world.org_a, url="http://127.0.0.1:9/tickets",
        event_types=["ticket.created", "ticket.updated"], description="", created_by=None, now=T0,
    )  # fmt: skip
    bravo_hook = endpoint_create(
        organization=world.org_b, url="http://127.0.0.1:9/bravo",
        event_types=["requests.purged"], description="", created_by=None, now=T0,
    ).endpoint  # fmt: skip
    retention_set(organization=world.org_a, days=30, actor=None, now=T0)
    deliver_events(Event.objects.undelivered().values_list("pk", flat=True), now=T0)
    WebhookDelivery.objects.all().delete()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.retention_purge(now=now, batch_size=2).requests == 3

    purged = list(Event.objects.filter(kind=EventKind.REQUESTS_PURGED).order_by("pk"))
    assert len(purged) == 2  # one per batch
    assert [e.after["references"] for e in purged] == [
        [first.reference, second.reference],
        [third.reference],
    ]
    assert [e.after["count"] for e in purged] == [2, 1]
    for event in purged:
        assert event.ticket_id is None and event.organization_id == world.org_a.pk
        assert event.after["retention_days"] == 30
        assert event.actor_kind == ActorKind.SYSTEM
    rows = list(AuditEntry.objects.filter(action=Action.RETENTION_PURGED).order_by("pk"))
    assert [r.after["references"] for r in rows] == [e.after["references"] for e in purged]

    # The outbox hands them over: the subscribed endpoint gets one delivery per batch,
    # the other endpoint and the other organization's none, and nobody gets an e-mail.
    mails = OutgoingMail.objects.count()
    deliver_events([e.pk for e in purged], now=now)
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.endpoint_id for d in deliveries] == [hook.pk, hook.pk]
    assert [d.event_type for d in deliveries] == ["requests.purged"] * 2
    assert deliveries[0].payload["data"]["purged"]["references"] == [
        first.reference,
        second.reference,
    ]
    assert deliveries[0].payload["organization"] == world.org_a.slug
    assert not WebhookDelivery.objects.filter(endpoint=bravo_hook).exists()
    assert mailoutbox == []
    assert OutgoingMail.objects.count() == mails
    assert Event.objects.filter(kind=EventKind.REQUESTS_PURGED).undelivered().count() == 0
    assert notifications_for(purged[0]) == []


def test_retention_period_bounds_and_unchanged_value(world: World) -> None:
    with pytest.raises(RetentionRefused):
        retention_set(organization=world.org_a, days=5, actor=None, now=T0)
    assert retention_set(organization=world.org_a, days=None, actor=None, now=T0) is False
    assert not AuditEntry.objects.filter(action=Action.RETENTION_CHANGED).exists()
    assert Organization.objects.get(pk=world.org_a.pk).retention_days is None


# --- Beat ---------------------------------------------------------------------------------------


def test_beat_runs_the_purge_and_the_export_clean_up(world: World, settings: Any) -> None:
    from privacy import tasks

    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"privacy.tasks.purge_retention", "privacy.tasks.expire_exports"} <= schedule
    job = ready_export(requester=world.supervisor, organization=world.org_a, via=ExportVia.DESK)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=T0)
    assert tasks.expire_exports()["expired"] == 1
    ticket = world.file()
    _close(ticket, days_ago=400, now=T0 + timedelta(days=400))
    retention_set(organization=world.org_a, days=30, actor=None, now=T0)
    assert tasks.purge_retention()["requests"] == 1
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
