"""Phone calls, their verification codes, the per-organization lock, and the audit trail.

Written only by ``verification.services``. The code itself is stored nowhere: a
challenge keeps a per-code salt and an HMAC of the code (see ``verification.pins``).
Code times (``created_at``, ``expires_at``, ``used_at``, ``voided_at``) are the ``now``
the services are given; what keeps a code single-use across processes is a conditional
UPDATE, not a clock (``verification.services``).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from tenants.models import Organization, RegisteredEmail, RegisteredPhone, User


class VerifiedBy(models.TextChoices):
    REGISTERED_NUMBER = "registered_number", _("registered number")
    PIN = "pin", _("verification code")


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("e-mail")
    PHONE = "phone", _("text message")


class CallQuerySet(models.QuerySet["Call"]):
    def open(self) -> CallQuerySet:
        return self.filter(ended_at__isnull=True)

    def active(self, now: datetime) -> CallQuerySet:
        """Verified calls that still grant access at ``now`` (POL-PIN-2): not ended and
        inside their 60-minute bound."""
        return self.filter(verified_at__isnull=False, ended_at__isnull=True, expires_at__gt=now)

    def of(self, *, agent: User, organization: Organization) -> CallQuerySet:
        return self.filter(agent=agent, organization=organization)


class Call(models.Model):
    """One phone call an agent takes for one organization.

    It starts unverified when the agent types the caller's number; it becomes verified
    by a registered-number match (POL-PIN-3) or by a code read back (POL-PIN-2). Only a
    verified, open, unexpired call grants access, and only to its own agent for its own
    organization. ``expires_at`` is fixed at the start: the call's access never outlives
    ``started_at`` + ``PIN_CALL_MAX_MINUTES``, however late it was verified.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="calls", verbose_name=_("organization")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="verification_calls",
        verbose_name=_("agent"),
    )
    caller_number = PhoneNumberField(_("caller's number"))
    started_at = models.DateTimeField(_("started"))
    expires_at = models.DateTimeField(_("access ends"))
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.CharField(
        _("verified by"), max_length=20, choices=VerifiedBy.choices, blank=True
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("phone call")
        verbose_name_plural = _("phone calls")
        ordering = ("-started_at", "-pk")
        indexes = [
            models.Index(
                fields=["agent", "organization", "-started_at"],
                condition=Q(ended_at__isnull=True),
                name="call_open_by_agent",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("started_at")), name="call_expires_after_start"
            ),
            models.CheckConstraint(
                condition=(
                    Q(verified_at__isnull=True, verified_by="")
                    | (Q(verified_at__isnull=False) & ~Q(verified_by=""))
                ),
                name="call_verified_has_method",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.caller_number} · {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class PinChallengeQuerySet(models.QuerySet["PinChallenge"]):
    def live(self) -> PinChallengeQuerySet:
        """Codes not used and not voided (they may still be expired or exhausted)."""
        return self.filter(used_at__isnull=True, voided_at__isnull=True)


class PinChallenge(models.Model):
    """One code sent for one call. Holds a salted HMAC of the code, never the code."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="pin_challenges"
    )
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="challenges")
    channel_kind = models.CharField(_("sent by"), max_length=8, choices=ChannelKind.choices)
    registered_email = models.ForeignKey(
        RegisteredEmail, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    registered_phone = models.ForeignKey(
        RegisteredPhone, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The masked contact (``j***@contoso.com``), kept if the contact is later removed.
    channel_label = models.CharField(_("sent to"), max_length=200)
    salt = models.CharField(max_length=64)  # hex
    code_hash = models.CharField(max_length=64)  # hex HMAC-SHA256
    created_at = models.DateTimeField(_("sent"), db_default=Now())
    expires_at = models.DateTimeField(_("expires"))
    wrong_attempts = models.PositiveSmallIntegerField(_("wrong entries"), default=0)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    voided_at = models.DateTimeField(_("voided"), null=True, blank=True)

    objects = PinChallengeQuerySet.as_manager()

    class Meta:
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")
        ordering = ("-created_at", "-pk")
        indexes = [
            # The rate limits count an organization's codes by time.
            models.Index(fields=["organization", "created_at"], name="pin_challenge_org_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="pin_challenge_expires_after_sent",
            ),
            models.CheckConstraint(
                condition=(
                    Q(channel_kind="email", registered_phone__isnull=True)
                    | Q(channel_kind="phone", registered_email__isnull=True)
                ),
                name="pin_challenge_one_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.channel_label} · {self.created_at:%Y-%m-%d %H:%M}"


class OrganizationPinState(models.Model):
    """The organization's PIN path: consecutive failures and the lock (POLICY.md PIN
    defaults: locked after 100 consecutive failures until a supervisor unlocks it)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="pin_state"
    )
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unlocked by"),
    )
    unlocked_at = models.DateTimeField(_("unlocked"), null=True, blank=True)

    class Meta:
        verbose_name = _("PIN state of an organization")
        verbose_name_plural = _("PIN states of organizations")
        ordering = ("organization__name",)

    def __str__(self) -> str:
        return str(self.organization)

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class EventKind(models.TextChoices):
    CALL_STARTED = "call_started", _("call started")
    REGISTERED_NUMBER_MATCH = "registered_number_match", _("registered number matched")
    CODE_SENT = "code_sent", _("code sent")
    CODE_NOT_DELIVERED = "code_not_delivered", _("code not delivered")
    SEND_REFUSED = "send_refused", _("code not sent")
    RATE_LIMITED = "rate_limited", _("rate limited")
    CODE_REJECTED = "code_rejected", _("code rejected")
    CODE_ACCEPTED = "code_accepted", _("code accepted")
    LOCKED = "locked", _("PIN path locked")
    UNLOCKED = "unlocked", _("PIN path unlocked")
    CALL_ENDED = "call_ended", _("call ended")
    ACCESS_REFUSED = "access_refused", _("access refused")


class VerificationEventQuerySet(models.QuerySet["VerificationEvent"]):
    def for_org(self, organization: Organization) -> VerificationEventQuerySet:
        return self.filter(organization=organization)


class VerificationEvent(models.Model):
    """One step of caller verification, for the audit trail. Never holds the code."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="verification_events"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    # Who acted, as they were called then; kept if the user is later deleted.
    agent_label = models.CharField(_("staff member"), max_length=200, blank=True)
    call = models.ForeignKey(
        Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    challenge = models.ForeignKey(
        PinChallenge, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=EventKind.choices)
    # The true reason of a refusal (``pins.Verdict`` or a refusal code); the agent saw
    # one message for all of them.
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    channel = models.CharField(_("masked channel"), max_length=200, blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    created_at = models.DateTimeField(_("time"), db_default=Now(), db_index=True)

    objects = VerificationEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("verification event")
        verbose_name_plural = _("verification events")
        ordering = ("created_at", "pk")
        indexes = [
            models.Index(fields=["organization", "created_at"], name="verif_event_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.organization}"
