"""Caller verification by PIN (POL-PIN-1..3): the use cases. The only writers of
``verification.models``.

The flow: :func:`call_start` records a call from a number; a registered number (past its
cool-off) verifies it at once (POL-PIN-3). Otherwise :func:`code_send` sends a one-time
code to a registered contact and :func:`code_check` checks what the caller reads back
(POL-PIN-1, POL-PIN-2). A verified call grants its agent access to its organization until
:func:`call_end` or ``PIN_CALL_MAX_MINUTES`` after it started; :func:`active_call` and
:func:`require_active_call` are the only ways the desk asks.

Rules that keep the code trustworthy (POLICY.md PIN defaults):

* The code exists only in memory between its generation and its hand-over to the e-mail
  or SMS backend, inline in :func:`code_send`: never in the database (a salted HMAC is),
  never in a log line, a Celery argument, the cache or an Event.
* Every service takes ``now`` (the caller reads the clock: views, API, admin), and every
  time it writes or compares is that ``now``, so tests travel in time. What keeps a code
  single-use across processes is not a clock but the conditional UPDATEs below; the
  clocks of the web processes only decide a validity window of minutes, to within the
  milliseconds that NTP keeps them apart (as for every SLA deadline of the product).
* Single use: :func:`code_check` claims a code with one conditional UPDATE whose WHERE
  holds every condition (unused, not voided, not exhausted, not expired, this call, this
  agent, this organization, organization not locked); only the caller that updated the
  row succeeds, however many submit the right code at once.
* Counters live in the database and change by ``F()`` expressions and conditional
  UPDATEs, never by read-modify-write in Python.
* A refused code gets :data:`ERR_CODE_INVALID` unless the truth helps the agent and
  tells a caller nothing about the digits: a code used up by its wrong entries, an
  expired code, a locked organization each say so and what to do next. The audit trail
  (``VerificationEvent.reason``) records the reason of every refusal.

A service that refuses writes its audit Event and commits it, then raises
``VerificationError``: callers must not run it inside a transaction they roll back on
that error (the desk's views catch it and render the message).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber, to_python

from core import metrics, moments
from core.refusals import Refused
from tenants import masking
from tenants.mail import contact_language
from tenants.models import Organization, RegisteredEmail, RegisteredPhone, User
from verification import pins
from verification.delivery import SmsDeliveryError, get_sms_backend
from verification.messages import (
    CodeText,
    Notice,
    code_email,
    code_sms,
    notice_emails,
)
from verification.models import (
    Call,
    ChannelKind,
    EventKind,
    OrganizationPinState,
    PinChallenge,
    VerificationEvent,
    VerifiedBy,
)
from verification.selectors import CodeLimit, code_limit

logger = logging.getLogger(__name__)

# Error messages are module constants so tests and views can reuse them.
ERR_CODE_INVALID = _("That code is not valid. Ask the caller to read it again, or send a new code.")
ERR_CODE_USED_UP = _("This code is used up (%(count)d wrong tries) — send a new one.")
ERR_CODE_EXPIRED = _(
    "This code has expired (a code is valid %(minutes)d minutes) — send a new one."
)
ERR_VERIFIED_CALL_OPEN = _(
    "You are on a verified call with %(org)s. Starting a new call ends it and closes "
    "access to its account."
)
ERR_CODE_FORMAT = _("Type the %(length)d digits the caller reads out.")
ERR_NOT_AGENT = _("Only support staff can take calls.")
ERR_INVALID_NUMBER = _(
    "“%(number)s” is not a valid phone number. Type it with the country code, "
    "for example +48 600 100 200."
)
ERR_NOT_YOUR_CALL = _("This call belongs to another agent.")
ERR_CALL_OVER = _("This call has ended. Start a new call.")
ERR_ALREADY_VERIFIED = _("This caller is already verified.")
ERR_LOCKED = _(
    "Verification codes for this organization are locked after too many failed codes. "
    "A supervisor must unlock them."
)
ERR_UNKNOWN_CHANNEL = _("Choose one of the organization's registered contacts.")
ERR_COOLING_OFF = _(
    "This contact was registered less than 48 hours ago and cannot receive codes yet."
)
ERR_RATE_HOUR = _(
    "This organization has been sent %(count)d codes in the last hour, the most allowed. "
    "Next code possible at %(time)s."
)
ERR_RATE_DAY = _(
    "This organization has been sent %(count)d codes in the last 24 hours, the most "
    "allowed. Next code possible at %(time)s."
)
ERR_NOT_DELIVERED = _("The code could not be sent. Try again, or choose another contact.")
ERR_SUPERVISORS_ONLY = _("Only a supervisor can unlock verification codes.")
ERR_NOT_LOCKED = _("Verification codes for this organization are not locked.")
ERR_VERIFY_FIRST = _(
    "Verify the caller first: start a phone call for this organization and enter the "
    "code the caller reads out, or take the call from a registered number."
)


class VerificationError(Refused):
    """A refused step of caller verification; ``message`` is shown to the agent.

    The telephony API answers every refusal but the rate limits with 400, as documented."""

    status_by_code = {"forbidden": 400, "not_found": 400, "unchanged": 400}


def current_policy() -> pins.PinPolicy:
    """The PIN policy from ``settings.SUPPORTDESK`` (its ``PIN_*`` values)."""
    return pins.PinPolicy.from_settings(asdict(settings.SUPPORTDESK))


def _pepper() -> bytes:
    """The HMAC key of stored codes: ``PIN_PEPPER``, or one derived from ``SECRET_KEY``.

    It lives outside the database, so a stolen table alone allows no offline search.
    """
    configured = getattr(settings, "PIN_PEPPER", "") or ""
    if configured:
        return configured.encode("utf-8")
    return hmac.new(
        settings.SECRET_KEY.encode("utf-8"), b"supportdesk.verification.pin-pepper", hashlib.sha256
    ).digest()


# --- Audit ---------------------------------------------------------------------------------

_LOUD = frozenset({EventKind.LOCKED, EventKind.UNLOCKED, EventKind.CODE_NOT_DELIVERED})


def _record(
    *,
    at: datetime,
    organization_id: int,
    kind: EventKind,
    agent: User | None,
    call: Call | None = None,
    challenge: PinChallenge | None = None,
    reason: str = "",
    channel: str = "",
    outcome: str = "",
) -> VerificationEvent:
    # Log lines carry ids and reasons only: never a code, never a contact. Routine steps
    # log at DEBUG (the audit table is the record); the lock and unlock at WARNING.
    logger.log(
        logging.WARNING if kind in _LOUD else logging.DEBUG,
        "verification %s organization=%s call=%s agent=%s reason=%s",
        kind.value,
        organization_id,
        call.pk if call else None,
        agent.pk if agent else None,
        reason or "-",
    )
    metrics.PIN_OUTCOMES.labels(kind.value).inc()
    return VerificationEvent.objects.create(
        created_at=at,
        organization_id=organization_id,
        kind=kind,
        agent=agent,
        agent_label=agent.email if agent else "",
        call=call,
        challenge=challenge,
        reason=reason,
        channel=channel,
        outcome=outcome,
    )


def _require_agent(agent: User) -> None:
    if not agent.is_agent:
        raise VerificationError(ERR_NOT_AGENT, code="forbidden")


def _pin_state(organization_id: int, *, lock: bool = False) -> OrganizationPinState:
    state, _created = OrganizationPinState.objects.get_or_create(organization_id=organization_id)
    if lock:
        # Serialises the sends of one organization, so two at once cannot both pass
        # the rate limits (SQLite serialises every write transaction anyway).
        state = OrganizationPinState.objects.select_for_update().get(pk=state.pk)
    return state


def _fresh_call(call: Call) -> Call:
    """The call as the database has it now."""
    return Call.objects.select_related("organization", "agent").get(pk=call.pk)


def _send_mail(emails: list) -> bool:
    """Send notices over one connection; False (and logged) when the mail server fails."""
    if not emails:
        return True
    try:
        with get_connection() as connection:
            connection.send_messages(emails)
    except Exception:
        logger.warning("verification notices could not be sent", exc_info=True)
        return False
    return True


def _notify_admins(
    *,
    notice: str,
    organization: Organization,
    staff: User,
    at: datetime,
    channel: str = "",
    caller_number: str = "",
    failures: int = 0,
) -> str:
    """Tell every global admin of the organization; return a line for the audit trail."""
    try:
        emails = notice_emails(
            notice=notice,
            organization=organization,
            staff=staff,
            at=at,
            channel=channel,
            caller_number=caller_number,
            failures=failures,
        )
    except Exception:
        logger.warning("verification notices could not be written", exc_info=True)
        return "Global admins NOT told: the notice could not be written."
    if not emails:
        return "No global admin to tell."
    if _send_mail(emails):
        return f"{len(emails)} global admin(s) told."
    return "Global admins NOT told: the mail server refused the notice."


# --- Calls ---------------------------------------------------------------------------------


def call_start(
    *,
    agent: User,
    organization: Organization,
    caller_number: str,
    now: datetime,
    end_verified: bool = True,
) -> Call:
    """Record a call from ``caller_number`` for ``organization``, taken by ``agent``.

    The number is parsed with the organization's country as the default region. A
    number registered in the organization's profile and past its cool-off verifies the
    call at once (POL-PIN-3); any other number leaves it unverified until a code is read
    back. An agent takes one call at a time: starting a call ends their other open calls.
    With ``end_verified=False`` (the desk, until the agent confirms) a verified call that
    still grants access is not ended silently: the start is refused with
    :data:`ERR_VERIFIED_CALL_OPEN` (code ``verified_call_open``).
    """
    _require_agent(agent)
    policy = current_policy()
    region = organization.country.code or None
    number = to_python((caller_number or "").strip(), region=region)
    if not isinstance(number, PhoneNumber) or not number.is_valid():
        raise VerificationError(
            ERR_INVALID_NUMBER % {"number": (caller_number or "").strip()},
            code="invalid_number",
            field="caller_number",
        )
    with transaction.atomic():
        previous_calls = list(Call.objects.open().filter(agent=agent).select_for_update())
        verified = next(
            (c for c in previous_calls if c.verified_at is not None and c.expires_at > now), None
        )
        if verified is not None and not end_verified:
            raise VerificationError(
                ERR_VERIFIED_CALL_OPEN % {"org": verified.organization.name},
                code="verified_call_open",
            )
        for previous in previous_calls:
            Call.objects.filter(pk=previous.pk, ended_at__isnull=True).update(ended_at=now)
            PinChallenge.objects.live().filter(call=previous).update(voided_at=now)
            _record(
                at=now,
                organization_id=previous.organization_id,
                kind=EventKind.CALL_ENDED,
                agent=agent,
                call=previous,
                reason="superseded",
                outcome="Ended because the agent started another call.",
            )
        registered = RegisteredPhone.objects.filter(organization=organization, number=number)
        usable = registered.usable_at(now).first()
        call = Call.objects.create(
            organization=organization,
            agent=agent,
            caller_number=number,
            started_at=now,
            expires_at=now + policy.call_max,
            verified_at=now if usable else None,
            verified_by=VerifiedBy.REGISTERED_NUMBER if usable else "",
        )
        _record(
            at=now,
            organization_id=organization.pk,
            kind=EventKind.CALL_STARTED,
            agent=agent,
            call=call,
            channel=masking.mask_phone(number),
            outcome="Call started.",
        )
        if usable is not None:
            _record(
                at=now,
                organization_id=organization.pk,
                kind=EventKind.REGISTERED_NUMBER_MATCH,
                agent=agent,
                call=call,
                channel=masking.mask_phone(number),
                outcome="The caller's number is registered: verified without a code (POL-PIN-3).",
            )
        elif registered.exists():
            _record(
                at=now,
                organization_id=organization.pk,
                kind=EventKind.ACCESS_REFUSED,
                agent=agent,
                call=call,
                reason="cooling_off",
                channel=masking.mask_phone(number),
                outcome="The caller's number is registered but still in its 48-hour cool-off: "
                "not verified by the match.",
            )
    return call


def call_end(*, call: Call, agent: User, now: datetime) -> Call:
    """End the call: its access stops and its unused codes are voided. Ending an ended
    call changes nothing."""
    _require_agent(agent)
    if call.agent_id != agent.pk:
        _record(
            at=now,
            organization_id=call.organization_id,
            kind=EventKind.ACCESS_REFUSED,
            agent=agent,
            call=call,
            reason="not_your_call",
            outcome="Ending the call refused: it is another agent's call.",
        )
        raise VerificationError(ERR_NOT_YOUR_CALL, code="forbidden")
    with transaction.atomic():
        ended = Call.objects.filter(pk=call.pk, ended_at__isnull=True).update(ended_at=now)
        if ended:
            voided = PinChallenge.objects.live().filter(call_id=call.pk).update(voided_at=now)
            _record(
                at=now,
                organization_id=call.organization_id,
                kind=EventKind.CALL_ENDED,
                agent=agent,
                call=call,
                outcome=f"Call ended by the agent; {voided} unused code(s) voided.",
            )
    call.refresh_from_db()
    return call


def active_call(
    *, agent: User, organization: Organization, now: datetime, call_id: int | None = None
) -> Call | None:
    """The verified call that grants ``agent`` access to ``organization`` at ``now``, or
    None. With ``call_id`` (the call the desk page belongs to), only that call counts."""
    if not agent.is_agent:
        return None
    calls = Call.objects.active(now).of(agent=agent, organization=organization)
    if call_id is not None:
        calls = calls.filter(pk=call_id)
    return calls.order_by("-started_at", "-pk").first()


def require_active_call(
    *, agent: User, organization: Organization, now: datetime, call_id: int | None = None
) -> Call:
    """:func:`active_call`, or a recorded refusal with :data:`ERR_VERIFY_FIRST`."""
    call = active_call(agent=agent, organization=organization, now=now, call_id=call_id)
    if call is None:
        _record(
            at=now,
            organization_id=organization.pk,
            kind=EventKind.ACCESS_REFUSED,
            agent=agent,
            reason="unverified",
            outcome="Account access refused: no verified call.",
        )
        raise VerificationError(ERR_VERIFY_FIRST, code="unverified")
    return call


# --- Sending a code ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Channel:
    kind: ChannelKind
    email: RegisteredEmail | None
    phone: RegisteredPhone | None

    @property
    def label(self) -> str:
        if self.email is not None:
            return masking.mask_email(self.email.email)
        assert self.phone is not None
        return masking.mask_phone(self.phone.number)


def _channel(
    organization_id: int, channel_id: int | str, channel_kind: str, now: datetime
) -> _Channel | str:
    """The registered contact, or the reason it cannot be used (refusal code)."""
    try:
        kind = ChannelKind(channel_kind)
        pk = int(channel_id)
    except (TypeError, ValueError):
        return "unknown_channel"
    model = RegisteredEmail if kind == ChannelKind.EMAIL else RegisteredPhone
    contact = model.objects.filter(pk=pk, organization_id=organization_id).first()
    if contact is None:
        return "unknown_channel"
    if contact.active_from > now:
        return "cooling_off"
    if isinstance(contact, RegisteredEmail):
        return _Channel(kind=kind, email=contact, phone=None)
    return _Channel(kind=kind, email=None, phone=contact)


_SEND_REFUSALS = {
    "not_your_call": ERR_NOT_YOUR_CALL,
    "call_over": ERR_CALL_OVER,
    "already_verified": ERR_ALREADY_VERIFIED,
    "locked": ERR_LOCKED,
    "unknown_channel": ERR_UNKNOWN_CHANNEL,
    "cooling_off": ERR_COOLING_OFF,
}


def code_send(
    *, call: Call, agent: User, channel_id: int, channel_kind: str, now: datetime
) -> PinChallenge:
    """Send a new code for ``call`` to a registered contact (POL-PIN-1).

    Refused unless the call is the agent's, open, unexpired and unverified, the
    organization's PIN path is not locked, the contact is the organization's and past
    its cool-off, and the organization is inside its hourly and daily limits (counted in
    the database). Voids the call's earlier codes. The code goes out inline, after the
    challenge is committed; if the backend fails, the challenge is voided. Every global
    admin of the organization is then told (without the code).
    """
    _require_agent(agent)
    policy = current_policy()
    error: VerificationError | None = None
    code = ""
    with transaction.atomic():
        state = _pin_state(call.organization_id, lock=True)
        fresh = _fresh_call(call)
        refusal = ""
        if fresh.agent_id != agent.pk:
            refusal = "not_your_call"
        elif fresh.ended_at is not None or fresh.expires_at <= now:
            refusal = "call_over"
        elif fresh.verified_at is not None:
            refusal = "already_verified"
        elif state.is_locked:
            refusal = "locked"
        channel = _channel(fresh.organization_id, channel_id, channel_kind, now)
        if not refusal and isinstance(channel, str):
            refusal = channel
        if refusal:
            _record(
                at=now,
                organization_id=fresh.organization_id,
                kind=EventKind.SEND_REFUSED,
                agent=agent,
                call=fresh,
                reason=refusal,
                channel=channel.label if isinstance(channel, _Channel) else "",
                outcome="Code not sent.",
            )
            error = VerificationError(_SEND_REFUSALS[refusal], code=refusal)
        else:
            assert isinstance(channel, _Channel)
            error = _rate_limited(fresh, agent, channel, policy, now)
        if error is None:
            assert isinstance(channel, _Channel)
            voided = PinChallenge.objects.live().filter(call=fresh).update(voided_at=now)
            code = pins.generate_code(policy.code_length)
            salt = pins.new_salt()
            challenge = PinChallenge.objects.create(
                organization_id=fresh.organization_id,
                agent=agent,
                call=fresh,
                channel_kind=channel.kind,
                registered_email=channel.email,
                registered_phone=channel.phone,
                channel_label=channel.label,
                salt=salt.hex(),
                code_hash=pins.hash_code(code, salt, _pepper()),
                created_at=now,
                expires_at=now + policy.valid_for,
            )
    if error is not None:
        raise error

    text = CodeText(
        organization=fresh.organization,
        agent=agent,
        valid_minutes=int(policy.valid_for.total_seconds() // 60),
    )
    try:
        assert isinstance(channel, _Channel)  # no error: the channel was usable
        _deliver(channel, text=text, code=code)
    except Exception as exc:
        del code
        with transaction.atomic():
            PinChallenge.objects.filter(pk=challenge.pk, used_at__isnull=True).update(voided_at=now)
            _record(
                at=now,
                organization_id=fresh.organization_id,
                kind=EventKind.CODE_NOT_DELIVERED,
                agent=agent,
                call=fresh,
                challenge=challenge,
                reason="delivery_failed",
                channel=challenge.channel_label,
                outcome=f"The backend failed ({type(exc).__name__}); the code is voided.",
            )
        logger.warning(
            "verification code for call %s not delivered (%s)", fresh.pk, type(exc).__name__
        )
        raise VerificationError(ERR_NOT_DELIVERED, code="not_delivered") from None
    del code

    told = _notify_admins(
        notice=Notice.SENT,
        organization=fresh.organization,
        staff=agent,
        at=challenge.created_at,
        channel=challenge.channel_label,
        caller_number=str(fresh.caller_number),
    )
    _record(
        at=now,
        organization_id=fresh.organization_id,
        kind=EventKind.CODE_SENT,
        agent=agent,
        call=fresh,
        challenge=challenge,
        channel=challenge.channel_label,
        outcome=(
            f"Sent by {challenge.get_channel_kind_display()}; {voided} earlier code(s) "
            f"voided. {told}"
        ),
    )
    challenge.refresh_from_db()
    return challenge


def _rate_limited(
    call: Call, agent: User, channel: _Channel, policy: pins.PinPolicy, now: datetime
) -> VerificationError | None:
    """Record and return the refusal when the organization is at a limit (POLICY.md:
    3 codes per organization per hour, 10 per day). Every code counts, delivered or not."""
    limit = code_limit(organization_id=call.organization_id, now=now, policy=policy)
    if limit is None:
        return None
    _record(
        at=now,
        organization_id=call.organization_id,
        kind=EventKind.RATE_LIMITED,
        agent=agent,
        call=call,
        reason=f"per_{limit.per}",
        channel=channel.label,
        outcome=f"Code not sent: {limit.count} codes per {limit.per} already sent; "
        f"next possible at {limit.next_at:%H:%M} UTC.",
    )
    return VerificationError(rate_limit_message(limit), code="rate_limited")


def rate_limit_message(limit: CodeLimit) -> str:
    """What the agent reads at a limit: which one, and when the next code may go out, in
    the time zone active for the reader (the agent's own on the desk)."""
    message = ERR_RATE_HOUR if limit.per == "hour" else ERR_RATE_DAY
    at = moments.format_moment(limit.next_at, form="clock")  # "21:40 Warsaw time"
    return str(message) % {"count": limit.count, "time": at}


def _deliver(channel: _Channel, *, text: CodeText, code: str) -> None:
    organization = text.organization
    if channel.email is not None:
        lang = contact_language(organization, email=channel.email.email)
        code_email(text=text, code=code, to=channel.email.email, lang=lang).send()
        return
    assert channel.phone is not None
    lang = contact_language(organization, phone=channel.phone.number)
    body = code_sms(text=text, code=code, lang=lang)
    try:
        get_sms_backend().send(channel.phone.number.as_e164, body)
    except SmsDeliveryError:
        raise
    except Exception as exc:  # a third-party backend's own error: no body in ours
        raise SmsDeliveryError(type(exc).__name__) from None


# --- Checking a code -----------------------------------------------------------------------


@dataclass
class _Outcome:
    verified: Call | None = None
    reason: str = ""
    failures: int = 0
    # The code's wrong entries reached the limit (this entry or earlier ones).
    used_up: bool = False
    # The audit rows a notice's result is appended to, once the notice is sent.
    accepted_event: VerificationEvent | None = None
    locked_event: VerificationEvent | None = None


def _append(event: VerificationEvent, line: str) -> None:
    """Add how the notice went to the audit row written in the transaction."""
    VerificationEvent.objects.filter(pk=event.pk).update(outcome=f"{event.outcome} {line}")


def code_check(*, call: Call, agent: User, entry: str, now: datetime) -> Call:
    """Check the code the caller read out; return the verified call, or raise
    ``VerificationError``: :data:`ERR_CODE_USED_UP` (code ``code_used_up``) once the
    code's wrong entries reach ``PIN_MAX_WRONG_PER_CODE``, :data:`ERR_CODE_EXPIRED`
    (``code_expired``) for an expired code, :data:`ERR_LOCKED` (``locked``) for a locked
    organization, and :data:`ERR_CODE_INVALID` (``invalid_code``) for every other refusal
    (wrong, used, voided, another agent's or an ended call).

    A code counts only for its own call, agent and organization. A wrong entry adds
    one to the code's wrong entries and to the organization's consecutive failures; a
    success resets them and tells the organization's global admins; the failure that
    reaches ``PIN_LOCK_AFTER_FAILURES`` locks the organization's PIN path and tells them.
    Entries that are not ``PIN_CODE_LENGTH`` digits are refused with
    :data:`ERR_CODE_FORMAT` and count nothing (they can never match).
    """
    _require_agent(agent)
    policy = current_policy()
    code = pins.normalise_entry(entry, policy.code_length)
    if code is None:
        _record(
            at=now,
            organization_id=call.organization_id,
            kind=EventKind.CODE_REJECTED,
            agent=agent,
            call=call,
            reason="malformed",
            outcome="Entry refused: not a code of the right length.",
        )
        raise VerificationError(ERR_CODE_FORMAT % {"length": policy.code_length}, code="malformed")
    state = _pin_state(call.organization_id)
    if state.is_locked:
        # Locked: refused at once, touching neither codes nor counters. (A lock that
        # lands after this read still stops a success: the claim re-checks it.)
        _record(
            at=now,
            organization_id=call.organization_id,
            kind=EventKind.CODE_REJECTED,
            agent=agent,
            call=call,
            reason=pins.Verdict.LOCKED,
            outcome="Entry refused: the organization's PIN path is locked.",
        )
        raise VerificationError(ERR_LOCKED, code="locked")
    with transaction.atomic():
        outcome = _check(call=call, agent=agent, code=code, policy=policy, state=state, now=now)
    del code

    if outcome.locked_event is not None:
        organization = Organization.objects.get(pk=call.organization_id)
        state = OrganizationPinState.objects.get(organization=organization)
        told = _notify_admins(
            notice=Notice.LOCKED,
            organization=organization,
            staff=agent,
            at=state.locked_at or outcome.locked_event.created_at,
            failures=outcome.failures,
        )
        _append(outcome.locked_event, told)
    if outcome.verified is None:
        raise _check_refusal(outcome, policy)
    verified = outcome.verified
    assert verified.verified_at is not None  # the accepted code set it
    told = _notify_admins(
        notice=Notice.USED,
        organization=verified.organization,
        staff=agent,
        at=verified.verified_at,
        caller_number=str(verified.caller_number),
    )
    if outcome.accepted_event is not None:
        _append(outcome.accepted_event, told)
    return verified


def _check_refusal(outcome: _Outcome, policy: pins.PinPolicy) -> VerificationError:
    """The refusal the agent reads. Only facts about the agent's own latest code are told
    apart, and only those that change what the agent does next (send a new code); none
    says anything about the digits."""
    if outcome.locked_event is not None:
        return VerificationError(ERR_LOCKED, code="locked")
    if outcome.used_up:
        return VerificationError(
            ERR_CODE_USED_UP % {"count": policy.max_wrong_per_code}, code="code_used_up"
        )
    if outcome.reason == pins.Verdict.EXPIRED:
        minutes = int(policy.valid_for.total_seconds() // 60)
        return VerificationError(ERR_CODE_EXPIRED % {"minutes": minutes}, code="code_expired")
    return VerificationError(ERR_CODE_INVALID, code="invalid_code")


def _check(
    *,
    call: Call,
    agent: User,
    code: str,
    policy: pins.PinPolicy,
    state: OrganizationPinState,
    now: datetime,
) -> _Outcome:
    fresh = _fresh_call(call)
    refusal = ""
    if not agent.is_agent or fresh.agent_id != agent.pk:
        refusal = "not_your_call"
    elif fresh.ended_at is not None or fresh.expires_at <= now:
        refusal = "call_over"
    elif fresh.verified_at is not None:
        refusal = "already_verified"
    if refusal:
        return _failed(fresh, agent, None, reason=refusal, policy=policy, now=now)

    # The newest code by id, not by time: sends to one organization are serialised by
    # its PIN-state lock (code_send), so ids follow the order of sending whatever the
    # sending processes' clocks said.
    challenge = (
        PinChallenge.objects.filter(call=fresh, agent=agent, organization_id=fresh.organization_id)
        .order_by("-pk")
        .first()
    )
    facts = (
        pins.ChallengeFacts(
            used=challenge.used_at is not None,
            voided=challenge.voided_at is not None,
            expired=challenge.expires_at <= now,
            wrong_attempts=challenge.wrong_attempts,
        )
        if challenge is not None
        else None
    )
    matches = challenge is not None and pins.codes_match(
        code, bytes.fromhex(challenge.salt), _pepper(), challenge.code_hash
    )
    verdict = pins.judge(matches=matches, challenge=facts, locked=False, policy=policy)

    if verdict == pins.Verdict.ACCEPTED:
        assert challenge is not None
        # The claim: every condition in one UPDATE's WHERE, on the row itself, so only
        # one of any number of concurrent submissions updates it.
        claimed = (
            PinChallenge.objects.filter(
                pk=challenge.pk,
                call_id=fresh.pk,
                agent_id=agent.pk,
                organization_id=fresh.organization_id,
                used_at__isnull=True,
                voided_at__isnull=True,
                wrong_attempts__lt=policy.max_wrong_per_code,
                expires_at__gt=now,
            )
            .exclude(
                Exists(
                    OrganizationPinState.objects.filter(
                        organization_id=OuterRef("organization_id"), locked_at__isnull=False
                    )
                )
            )
            .update(used_at=now)
        )
        if claimed == 1:
            verified = Call.objects.filter(
                pk=fresh.pk, verified_at__isnull=True, ended_at__isnull=True, expires_at__gt=now
            ).update(verified_at=now, verified_by=VerifiedBy.PIN)
            if verified == 1:
                OrganizationPinState.objects.filter(pk=state.pk).update(consecutive_failures=0)
                fresh.refresh_from_db()
                event = _record(
                    at=now,
                    organization_id=fresh.organization_id,
                    kind=EventKind.CODE_ACCEPTED,
                    agent=agent,
                    call=fresh,
                    challenge=challenge,
                    reason=pins.Verdict.ACCEPTED,
                    channel=challenge.channel_label,
                    outcome=f"Caller verified by code; access until {fresh.expires_at:%H:%M} UTC "
                    "or the end of the call.",
                )
                return _Outcome(verified=fresh, reason=pins.Verdict.ACCEPTED, accepted_event=event)
            verdict_reason = "call_over"
        else:
            # Another submission won, or the code died or the path locked meanwhile.
            verdict_reason = "lost_race"
        return _failed(fresh, agent, challenge, reason=verdict_reason, policy=policy, now=now)

    if verdict == pins.Verdict.WRONG:
        assert challenge is not None
        PinChallenge.objects.filter(
            pk=challenge.pk,
            used_at__isnull=True,
            voided_at__isnull=True,
            wrong_attempts__lt=policy.max_wrong_per_code,
        ).update(wrong_attempts=F("wrong_attempts") + 1)
    return _failed(fresh, agent, challenge, reason=verdict, policy=policy, now=now)


def _failed(
    call: Call,
    agent: User,
    challenge: PinChallenge | None,
    *,
    reason: str,
    policy: pins.PinPolicy,
    now: datetime,
) -> _Outcome:
    """Count one consecutive failure for the organization, lock its PIN path at the
    threshold (exactly one failure claims the lock), and record the refusal."""
    states = OrganizationPinState.objects.filter(organization_id=call.organization_id)
    states.update(consecutive_failures=F("consecutive_failures") + 1)
    locked_now = (
        states.filter(
            locked_at__isnull=True, consecutive_failures__gte=policy.lock_after_failures
        ).update(locked_at=now, unlocked_at=None, unlocked_by=None)
        == 1
    )
    failures = states.values_list("consecutive_failures", flat=True).first() or 0
    detail = ""
    if challenge is not None:
        challenge.refresh_from_db(fields=["wrong_attempts"])
        detail = (
            f" Wrong entries of this code: {challenge.wrong_attempts} of "
            f"{policy.max_wrong_per_code}."
        )
    _record(
        at=now,
        organization_id=call.organization_id,
        kind=EventKind.CODE_REJECTED,
        agent=agent,
        call=call,
        challenge=challenge,
        reason=reason,
        channel=challenge.channel_label if challenge else "",
        outcome=f"Entry refused ({reason}). Consecutive failures: {failures}.{detail}",
    )
    locked_event = None
    if locked_now:
        # A lock also kills every unused code of the organization: an unlock must not
        # revive a code that was under attack.
        PinChallenge.objects.live().filter(organization_id=call.organization_id).update(
            voided_at=now
        )
        locked_event = _record(
            at=now,
            organization_id=call.organization_id,
            kind=EventKind.LOCKED,
            agent=agent,
            call=call,
            reason="consecutive_failures",
            outcome=f"PIN path locked after {failures} consecutive failures; "
            "a supervisor must unlock it.",
        )
    used_up = (
        challenge is not None
        and reason in (pins.Verdict.WRONG, pins.Verdict.EXHAUSTED)
        and challenge.wrong_attempts >= policy.max_wrong_per_code
    )
    return _Outcome(reason=reason, failures=failures, used_up=used_up, locked_event=locked_event)


# --- Unlocking -----------------------------------------------------------------------------


def pin_unlock(
    *, organization: Organization, supervisor: User, now: datetime
) -> OrganizationPinState:
    """Unlock the organization's PIN path and reset its failures. Supervisors only."""
    if not supervisor.is_supervisor:
        _record(
            at=now,
            organization_id=organization.pk,
            kind=EventKind.ACCESS_REFUSED,
            agent=supervisor,
            reason="not_supervisor",
            outcome="Unlock refused: only a supervisor can unlock.",
        )
        raise VerificationError(ERR_SUPERVISORS_ONLY, code="forbidden")
    with transaction.atomic():
        unlocked = OrganizationPinState.objects.filter(
            organization=organization, locked_at__isnull=False
        ).update(locked_at=None, consecutive_failures=0, unlocked_by=supervisor, unlocked_at=now)
        event = (
            _record(
                at=now,
                organization_id=organization.pk,
                kind=EventKind.UNLOCKED,
                agent=supervisor,
                outcome="PIN path unlocked; consecutive failures reset.",
            )
            if unlocked
            else None
        )
    if event is None:
        raise VerificationError(ERR_NOT_LOCKED, code="not_locked")
    state = OrganizationPinState.objects.get(organization=organization)
    assert state.unlocked_at is not None  # the unlock just set it
    told = _notify_admins(
        notice=Notice.UNLOCKED,
        organization=organization,
        staff=supervisor,
        at=state.unlocked_at,
    )
    _append(event, told)
    return state
