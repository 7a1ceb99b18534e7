"""Privacy (issue 17): data exports, erasure of a person, and the retention purge.

Who may do what:

- **Export.** Supervisors, on the desk, of any organization or any person (a person's
  export then covers every organization). An organization's global admin, in the
  portal's settings, of their organization or of one of its members (that person's part
  in this organization only). The file is downloadable once, by its requester only, and
  deleted after EXPORT_KEEP_DAYS if nobody collected it.
- **Erasure.** Supervisors, on the desk, of any customer. A global admin, in the portal,
  of a member of their own organization who belongs to no other organization and is not
  provider staff: anything wider could touch another tenant's records, so it goes
  through support. Nobody erases themselves (the account they act with would vanish
  mid-request), and provider staff are erased by a superuser in the Django admin.
  Erasure keeps what happened and the SLA figures (requests, severities, deadlines,
  Events, reports, ratings' scores) and removes who it was: the account's name, address,
  number and password, the contacts registered with their address or number, their
  address and number on requests, mail and calls, their name on the audit trails, and
  their subscriptions, search history, tokens and second factors, and their address,
  name or number in the webhook deliveries kept for re-sending. What people typed in
  free text (a signature in a reply, a name in a title) is kept: the conversation is
  the organization's record too.
- **Retention.** An organization's ``retention_days`` (``tenants.retention``): beat purges
  its closed requests closed longer ago than that, with their messages, Events, files and
  original e-mails, in batches; each batch leaves an audit row and an Event of the
  organization (no ticket; webhook type ``requests.purged``) with the count and the
  references. Open requests are never purged.
"""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit import services as audit
from audit.actions import Action, Channel
from core.refusals import Refused
from mailin.models import IncomingMail
from notices.models import StaffNotice, TicketCc, TicketFollower
from privacy import exports
from privacy.models import ExportJob, ExportKind, ExportStatus, ExportVia
from tenants.models import (
    ContactChange,
    Membership,
    MembershipChange,
    Organization,
    RegisteredEmail,
    RegisteredPhone,
    Role,
    User,
)
from tickets.actors import Actor
from tickets.events import record_for_organization
from tickets.models import Attachment, Event, EventKind, OutgoingMail, Status, Ticket
from verification.models import Call, VerificationEvent
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)

EXPORT_KEEP_DAYS = 7
EXPORT_BATCH = 50
# A running export that has not moved for this long lost its worker: it is started again.
EXPORT_STALE = timedelta(minutes=10)
PURGE_BATCH = 200
# The actor named on the purge's Events.
PURGE_ACTOR = "retention-purge"
ERASED_DOMAIN = "erased.invalid"

ERR_NOT_GLOBAL_ADMIN = _("Only the organization's global admins manage its privacy settings.")
ERR_EXPORT_GONE = _(
    "This export was already downloaded, has expired, or is not ready: each export can be "
    "downloaded once. Ask for a new one."
)
ERR_ERASE_SELF = _("You cannot erase yourself: ask another global admin or support.")
ERR_ERASE_STAFF = _("Provider staff are erased by a superuser in the Django admin.")
ERR_ERASE_OTHER_ORGANIZATIONS = _(
    "This person also belongs to another organization: ask support to erase them."
)
ERR_ERASE_LAST_ADMIN = _(
    "This person is the organization's only global admin: make someone else a global admin first."
)


class PrivacyRefused(Refused):
    status_by_code = {"gone": 410}


# --- Who may ----------------------------------------------------------------------------------


def may_manage_privacy(membership: Membership) -> bool:
    return membership.role == Role.GLOBAL_ADMIN


def member_of(organization: Organization, member_id: int) -> Membership | None:
    """A membership of this organization (None for another tenant's id)."""
    if not 0 < member_id < 2**63:
        return None
    return (
        Membership.objects.select_related("user")
        .filter(organization=organization, pk=member_id)
        .first()
    )


def export_of_requester(
    user: User, export_id: int, *, via: str, organization: Organization | None = None
) -> ExportJob | None:
    """The requester's own export, asked for on this side (and in this organization, in
    the portal); None for anyone else's."""
    if not 0 < export_id < 2**63:
        return None
    found = ExportJob.objects.select_related("organization", "person").filter(
        pk=export_id, requested_by=user, requested_via=via
    )
    if organization is not None:
        found = found.filter(organization=organization)
    return found.first()


def erasure_refusal(
    *, person: User, actor: User, organization: Organization | None
) -> PrivacyRefused | None:
    """Why this actor may not erase this person (None: they may). ``organization`` is the
    global admin's, in the portal; None on the desk."""
    if person.pk == actor.pk:
        return PrivacyRefused(ERR_ERASE_SELF, code="forbidden")
    if person.staff_role or person.is_staff or person.is_superuser:
        return PrivacyRefused(ERR_ERASE_STAFF, code="forbidden")
    if organization is None:
        return None
    memberships = Membership.objects.filter(user=person)
    if memberships.exclude(organization=organization).exists():
        return PrivacyRefused(ERR_ERASE_OTHER_ORGANIZATIONS, code="forbidden")
    admins = Membership.objects.filter(
        organization=organization, role=Role.GLOBAL_ADMIN, user__is_active=True
    )
    if admins.filter(user=person).exists() and not admins.exclude(user=person).exists():
        return PrivacyRefused(ERR_ERASE_LAST_ADMIN, code="forbidden")
    return None


# --- Export -----------------------------------------------------------------------------------


@transaction.atomic
def export_request(
    *,
    requester: User,
    via: str,
    now: datetime,
    organization: Organization | None = None,
    person: User | None = None,
) -> ExportJob:
    """Record an export and hand it to a worker after commit. With ``person``: that
    person's data (limited to ``organization`` when given); else the organization's. The
    requester's same export still queued or running is returned instead of a new one."""
    if person is None and organization is None:
        raise PrivacyRefused(_("Choose an organization or a person to export."))
    if via == ExportVia.PORTAL and organization is None:
        raise PrivacyRefused(_("A portal export is of one organization."), code="forbidden")
    kind = ExportKind.PERSON if person is not None else ExportKind.ORGANIZATION
    # The same export asked for again while the first is still being written (a double
    # click, a second tab) is that one: no second worker run, no second audit row. The
    # requester's row is locked so two requests at once cannot both create one.
    User.objects.select_for_update().filter(pk=requester.pk).first()
    pending = ExportJob.objects.filter(
        kind=kind,
        organization=organization,
        person=person,
        requested_by=requester,
        requested_via=via,
        status__in=(ExportStatus.QUEUED, ExportStatus.RUNNING),
    ).first()
    if pending is not None:
        return pending
    job = ExportJob.objects.create(
        kind=kind,
        organization=organization,
        person=person,
        requested_by=requester,
        requested_via=via,
        created_at=now,
    )
    audit.record(
        action=Action.EXPORT_REQUESTED,
        actor=requester,
        organization=organization,
        target=job,
        target_label=f"{job.get_kind_display()}: {job.subject_label}",
        after={"kind": kind, "export": job.pk},
        now=now,
    )
    transaction.on_commit(lambda: publish(job.pk))
    return job


def publish(job_id: int) -> None:
    """Queue the export's task. Switched off with the other work tasks
    (``DEADLINE_TASKS``, as in the tests); the hourly clean-up queues exports that wait
    too long, so a broker that was down only delays it."""
    from privacy.tasks import build_export

    if not settings.SUPPORTDESK.DEADLINE_TASKS:
        return
    try:
        build_export.apply_async(args=(job_id,), retry=False, ignore_result=True)
    except Exception as error:
        logger.warning("export %s not queued (%s); the clean-up will retry", job_id, error)


def _claim(job_id: int, now: datetime) -> bool:
    waiting = Q(status=ExportStatus.QUEUED) | Q(
        status=ExportStatus.RUNNING, touched_at__lt=now - EXPORT_STALE
    )
    claimed = (
        ExportJob.objects.filter(pk=job_id)
        .filter(waiting)
        .update(status=ExportStatus.RUNNING, started_at=now, touched_at=now, done=0, error="")
    )
    return claimed == 1


def _write_json(archive: zipfile.ZipFile, name: str, document: object) -> None:
    archive.writestr(name, json.dumps(document, ensure_ascii=False, indent=2, default=str))


def _copy_file(archive: zipfile.ZipFile, name: str, attachment: Attachment) -> None:
    try:
        with attachment.file.open("rb") as source, archive.open(name, "w") as target:
            for chunk in iter(lambda: source.read(1 << 16), b""):
                target.write(chunk)
    except FileNotFoundError:
        archive.writestr(name + ".missing.txt", "The file was no longer in storage.\n")


def export_run(job_id: int, *, batch_size: int = EXPORT_BATCH) -> ExportJob:
    """Write the export's zip, request batch after request batch, moving the progress bar
    after each; then store it and mark it ready. Runs once: a second worker handed the
    same job finds it taken. A failure marks the job failed with the reason."""
    if not _claim(job_id, timezone.now()):
        return ExportJob.objects.get(pk=job_id)
    job = ExportJob.objects.select_related("organization", "person").get(pk=job_id)
    try:
        with tempfile.TemporaryFile() as scratch:
            _build(job, scratch, batch_size=batch_size)
            scratch.seek(0)
            name = default_storage.save(f"privacy/exports/{uuid.uuid4().hex}.zip", File(scratch))
            size = default_storage.size(name)
    except Exception as error:
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        job.refresh_from_db()
        return job
    now = timezone.now()
    ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.READY,
        file=name,
        size=size,
        done=job.total,
        touched_at=now,
        finished_at=now,
        expires_at=now + timedelta(days=EXPORT_KEEP_DAYS),
    )
    job.refresh_from_db()
    return job


def _build(job: ExportJob, scratch: IO[bytes], *, batch_size: int) -> None:
    person, organization = job.person, job.organization
    if person is not None:
        tickets = exports.person_tickets(person, organization)
    else:
        assert organization is not None
        tickets = exports.organization_tickets(organization)
    # One step for the profile, one per request.
    job.total = tickets.count() + 1
    ExportJob.objects.filter(pk=job.pk).update(total=job.total)
    with zipfile.ZipFile(scratch, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        readme = {
            "export": job.pk,
            "kind": job.kind,
            "subject": job.subject_label,
            "requested_at": job.created_at.isoformat(),
        }
        _write_json(archive, "export.json", readme)
        if person is not None:
            _write_json(
                archive,
                "profile.json",
                {
                    **exports.person_document(person),
                    "memberships": exports.memberships_document(person, organization),
                },
            )
            contacts = exports.contacts_document(organization, person=person)
            _write_json(archive, "contacts.json", contacts)
        else:
            assert organization is not None
            _write_json(archive, "organization.json", exports.organization_document(organization))
            _write_json(archive, "members.json", exports.members_document(organization))
            _write_json(archive, "contacts.json", exports.contacts_document(organization))
        done, after = 1, 0
        while batch := exports.tickets_batch(tickets, after=after, size=batch_size):
            parts = (
                exports.person_ticket_parts(person, batch)
                if person is not None
                else exports.organization_ticket_parts(batch)
            )
            for part in parts:
                _write_json(archive, f"requests/{part.reference}.json", part.document)
                for name, attachment in part.attachments:
                    _copy_file(archive, name, attachment)
            done += len(batch)
            after = batch[-1].pk
            ExportJob.objects.filter(pk=job.pk).update(done=done, touched_at=timezone.now())


@transaction.atomic
def export_collect(*, job: ExportJob, user: User, now: datetime) -> str:
    """Take the one download of a ready export: returns the file's name in storage, which
    the caller opens and deletes. A second try is refused (410)."""
    claimed = ExportJob.objects.filter(
        pk=job.pk, requested_by=user, status=ExportStatus.READY
    ).update(status=ExportStatus.DOWNLOADED, downloaded_at=now, file="")
    if claimed != 1:
        raise PrivacyRefused(ERR_EXPORT_GONE, code="gone")
    audit.record(
        action=Action.EXPORT_DOWNLOADED,
        actor=user,
        organization=job.organization,
        target=job,
        target_label=f"{job.get_kind_display()}: {job.subject_label}",
        after={"export": job.pk, "size": job.size},
        now=now,
    )
    return job.file


def exports_clean_up(*, now: datetime) -> dict[str, int]:
    """Beat: delete the files of exports nobody collected in time; fail exports whose
    worker vanished; queue again exports still waiting for a worker."""
    expired = 0
    for job in ExportJob.objects.ready_until_before(now):
        if ExportJob.objects.filter(pk=job.pk, status=ExportStatus.READY).update(
            status=ExportStatus.EXPIRED, file=""
        ):
            _delete_files([job.file])
            expired += 1
    lost = ExportJob.objects.filter(
        status=ExportStatus.RUNNING, touched_at__lt=now - 6 * EXPORT_STALE
    ).update(
        status=ExportStatus.FAILED,
        error="The worker stopped before the export was written.",
        finished_at=now,
    )
    waiting = list(
        ExportJob.objects.filter(
            status=ExportStatus.QUEUED, created_at__lt=now - timedelta(minutes=5)
        ).values_list("pk", flat=True)
    )
    for job_id in waiting:
        publish(job_id)
    return {"expired": expired, "lost": lost, "requeued": len(waiting)}


def _delete_files(names: list[str]) -> None:
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete %s", name, exc_info=True)


# --- Erasure ----------------------------------------------------------------------------------


def erased_email(user_id: int) -> str:
    return f"erased-{user_id}@{ERASED_DOMAIN}"


@dataclass
class Erasure:
    person_id: int
    placeholder: str
    already_erased: bool = False
    counts: dict[str, int] = field(default_factory=dict)


def _scrub(value: Any, needles: list[str], placeholder: str) -> Any:
    """The JSON value with every string holding one of the needles replaced."""
    if isinstance(value, str):
        lowered = value.lower()
        return placeholder if any(n in lowered for n in needles) else value
    if isinstance(value, list):
        return [_scrub(v, needles, placeholder) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, needles, placeholder) for k, v in value.items()}
    return value


@transaction.atomic
def person_erase(
    *, person: User, actor: User, now: datetime, organization: Organization | None = None
) -> Erasure:
    """Erase a person (see the module's docstring). ``organization``: the global admin's
    own, in the portal, which also limits the requests, mail and calls scrubbed to it.
    Idempotent: a person already erased is left as they are, with no second audit row."""
    user = User.objects.select_for_update().get(pk=person.pk)
    refusal = erasure_refusal(person=user, actor=actor, organization=organization)
    if refusal is not None:
        raise refusal
    placeholder = erased_email(user.pk)
    result = Erasure(person_id=user.pk, placeholder=placeholder)
    if user.email == placeholder:
        result.already_erased = True
        return result
    email = user.email.lower()
    phone = str(user.phone) if user.phone else ""
    needles = [n.lower() for n in (email, phone, user.full_name) if n]
    counts = result.counts

    def scoped[M: models.Model](rows: QuerySet[M]) -> QuerySet[M]:
        return rows.filter(organization=organization) if organization is not None else rows

    # Their address and number on requests, as the contact, the caller or the 24x7 line.
    tickets = scoped(Ticket.objects.all())
    touched_tickets = set(
        tickets.filter(
            Q(contact_email__iexact=email)
            | (Q(contact_phone=phone) if phone else Q(pk__in=[]))
            | (Q(caller_phone=phone) if phone else Q(pk__in=[]))
            | Q(contact_24x7__icontains=email)
            | (Q(contact_24x7__icontains=phone) if phone else Q(pk__in=[]))
            | Q(created_by=user)
        ).values_list("pk", flat=True)
    )
    counts["requests"] = len(touched_tickets)
    mine = Ticket.objects.filter(pk__in=touched_tickets)
    mine.filter(contact_email__iexact=email).update(contact_email=placeholder)
    mine.filter(contact_24x7__icontains=email).update(contact_24x7="")
    if phone:
        mine.filter(contact_phone=phone).update(contact_phone="")
        mine.filter(caller_phone=phone).update(caller_phone="")
        mine.filter(contact_24x7__icontains=phone).update(contact_24x7="")

    # Events: their name as the actor, their address or number in a change's values.
    events = Event.objects.filter(Q(actor_user=user) | Q(ticket_id__in=touched_tickets))
    changed: list[Event] = []
    for event in events.only("pk", "actor_user_id", "actor_label", "before", "after"):
        before = _scrub(event.before, needles, placeholder)
        after = _scrub(event.after, needles, placeholder)
        label = placeholder if event.actor_user_id == user.pk else event.actor_label
        if (before, after, label) != (event.before, event.after, event.actor_label):
            event.before, event.after, event.actor_label = before, after, label
            changed.append(event)
    Event.objects.bulk_update(changed, ["before", "after", "actor_label"], batch_size=500)
    counts["events"] = len(changed)

    # Webhook deliveries kept for re-sending: a snapshot of what was sent then. Only rows
    # whose payload's text holds a needle are read; JSON may be stored with non-ASCII
    # escaped (SQLite, where LIKE ignores the case of ASCII only), so the escaped spelling
    # of the value as typed and lowered is looked for too.
    typed = [*needles, user.full_name]
    spellings = {form for n in typed if n for form in (n, json.dumps(n)[1:-1])}
    holding = Q(pk__in=[])
    for form in spellings:
        holding |= Q(payload__icontains=form)
    deliveries = WebhookDelivery.objects.filter(holding)
    if organization is not None:
        deliveries = deliveries.filter(endpoint__organization=organization)
    scrubbed: list[WebhookDelivery] = []
    for delivery in deliveries.only("pk", "payload"):
        payload = _scrub(delivery.payload, needles, placeholder)
        if payload != delivery.payload:
            delivery.payload = payload
            scrubbed.append(delivery)
    WebhookDelivery.objects.bulk_update(scrubbed, ["payload"], batch_size=500)
    counts["webhook_deliveries"] = len(scrubbed)

    # Mail: the addresses we sent to, and the mails they sent (the original is deleted).
    outgoing = OutgoingMail.objects.filter(recipient__icontains=email)
    if organization is not None:
        outgoing = outgoing.filter(ticket__organization=organization)
    mails_out = 0
    for mail in outgoing.only("pk", "recipient"):
        addresses = [a for a in mail.recipient.split(",") if a.strip().lower() != email]
        mail.recipient = ",".join([*addresses, placeholder])
        mail.save(update_fields=["recipient"])
        mails_out += 1
    counts["mail_sent"] = mails_out
    incoming = IncomingMail.objects.filter(sender__iexact=email)
    if organization is not None:
        incoming = incoming.filter(ticket__organization=organization)
    raw_files = [name for name in incoming.values_list("raw", flat=True) if name]
    counts["mail_received"] = incoming.update(sender=placeholder, raw="")
    transaction.on_commit(lambda: _delete_files(raw_files))

    # Calls from their number.
    calls = scoped(Call.objects.filter(caller_number=phone)) if phone else Call.objects.none()
    counts["calls"] = calls.update(caller_number="")

    # Registered contacts with their address or number: they no longer receive codes.
    counts["contacts"] = scoped(RegisteredEmail.objects.filter(email__iexact=email)).delete()[0]
    if phone:
        counts["contacts"] += scoped(RegisteredPhone.objects.filter(number=phone)).delete()[0]

    # Their name on the other trails.
    ContactChange.objects.filter(actor=user).update(actor_label=placeholder)
    MembershipChange.objects.filter(actor=user).update(actor_label=placeholder)
    MembershipChange.objects.filter(member=user).update(member_label=placeholder)
    VerificationEvent.objects.filter(agent=user).update(agent_label=placeholder)
    counts["audit"] = audit.forget_person(
        user_id=user.pk, replacement=placeholder, names=[email, user.full_name]
    )

    # What only served them: subscriptions, notices, searches, tokens, second factors.
    TicketFollower.objects.filter(user=user).delete()
    TicketCc.objects.filter(user=user).delete()
    StaffNotice.objects.filter(recipient=user).delete()
    from helpcenter.models import HelpSearch
    from tenants.credentials import AgentToken

    HelpSearch.objects.filter(user=user).delete()
    AgentToken.objects.filter(user=user).delete()
    _forget_sign_ins(email)
    _forget_second_factors(user)

    # Exports of their data nobody collected yet: the files go.
    pending = ExportJob.objects.filter(
        person=user,
        status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING, ExportStatus.READY],
    )
    export_files = [name for name in pending.values_list("file", flat=True) if name]
    counts["exports"] = pending.update(
        status=ExportStatus.EXPIRED, file="", error="The person was erased."
    )
    transaction.on_commit(lambda: _delete_files(export_files))

    # The account: no name, no address, no number, no password, no sign-in.
    user.email = placeholder
    user.full_name = ""
    user.phone = ""
    user.time_zone = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()

    audit.record(
        action=Action.PERSON_ERASED,
        actor=actor,
        organization=organization,
        target=user,
        target_label=placeholder,
        after=counts,
        now=now,
    )
    return result


def _forget_sign_ins(email: str) -> None:
    """django-axes' records of sign-in attempts are keyed by the address typed."""
    for name in ("AccessAttempt", "AccessLog", "AccessFailureLog"):
        if apps.is_installed("axes"):
            apps.get_model("axes", name).objects.filter(username__iexact=email).delete()


def _forget_second_factors(user: User) -> None:
    if apps.is_installed("django_otp"):
        from django_otp import devices_for_user

        for device in devices_for_user(user, confirmed=None):
            device.delete()


# --- Retention --------------------------------------------------------------------------------


@dataclass
class Purge:
    organizations: int = 0
    requests: int = 0
    files: int = 0


def retention_purge(*, now: datetime, batch_size: int = PURGE_BATCH) -> Purge:
    """Beat: every organization's closed requests closed before its retention period, in
    batches of ``batch_size``, each batch in its own transaction with its audit row."""
    result = Purge()
    for organization in Organization.objects.filter(retention_days__isnull=False):
        assert organization.retention_days is not None
        cutoff = now - timedelta(days=organization.retention_days)
        purged = 0
        while count := _purge_batch(
            organization, cutoff=cutoff, now=now, size=batch_size, into=result
        ):
            purged += count
        result.organizations += bool(purged)
    return result


@transaction.atomic
def _purge_batch(
    organization: Organization, *, cutoff: datetime, now: datetime, size: int, into: Purge
) -> int:
    due = Ticket.objects.for_org(organization).filter(status=Status.CLOSED, closed_at__lt=cutoff)
    ids = list(due.order_by("pk").values_list("pk", flat=True)[:size])
    if not ids:
        return 0
    files = [
        *Attachment.objects.filter(ticket_id__in=ids).values_list("file", flat=True),
        *IncomingMail.objects.filter(ticket_id__in=ids).values_list("raw", flat=True),
    ]
    IncomingMail.objects.filter(ticket_id__in=ids).delete()
    # The status once more: a request reopened since the list was read stays.
    doomed = Ticket.objects.filter(pk__in=ids, status=Status.CLOSED, closed_at__lt=cutoff)
    references = [Ticket(pk=pk).reference for pk in doomed.values_list("pk", flat=True)]
    doomed.delete()
    purged = {
        "count": len(references),
        "references": references,
        "retention_days": organization.retention_days,
        "closed_before": cutoff.isoformat(),
        "files": len([f for f in files if f]),
    }
    audit.record(
        action=Action.RETENTION_PURGED,
        organization=organization,
        target=organization,
        channel=Channel.SYSTEM,
        actor_label="",
        after=purged,
        now=now,
    )
    if references:
        # The organization's Event (no ticket: they are gone), which tells the webhooks
        # subscribed to ``requests.purged`` which references to drop.
        record_for_organization(
            organization.pk,
            actor=Actor.system(PURGE_ACTOR),
            kind=EventKind.REQUESTS_PURGED,
            now=now,
            after=purged,
        )
    transaction.on_commit(lambda: _delete_files([f for f in files if f]))
    into.requests += len(references)
    into.files += len([f for f in files if f])
    return len(ids)
