"""Accounts and tenancy: who acts, and for which organization.

Every tenant-owned row in the project has an ``organization`` foreign key; the
only way a view, an API endpoint or a task reaches one is through an access
function in ``tenants.access`` (or the aggregate's own), which scopes by the acting
organization and answers 404 for anyone else's ids.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField


def _validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class StaffRole(models.TextChoices):
    """Provider staff. Customers have no staff role; their power comes from Membership."""

    NONE = "", _("Customer")
    AGENT = "agent", _("Support agent")
    SUPERVISOR = "supervisor", _("Supervisor")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("staff_role", StaffRole.SUPERVISOR)
        return self._create_user(email, password, **extra)

    def agents(self) -> models.QuerySet[User]:
        return self.filter(is_active=True).exclude(staff_role=StaffRole.NONE)

    def supervisors(self) -> models.QuerySet[User]:
        return self.filter(is_active=True, staff_role=StaffRole.SUPERVISOR)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in by e-mail: a customer admin or user, or provider staff."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    language = models.CharField(
        _("language"), max_length=8, default="en", choices=[("en", "English"), ("pl", "Polski")]
    )
    # Blank: the organization's zone for a customer, the desk's (settings.TIME_ZONE) for
    # staff; tenants.zones.zone_for reads it, the middleware activates it.
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, default="", validators=[_validate_time_zone]
    )
    staff_role = models.CharField(
        _("staff role"),
        max_length=16,
        choices=StaffRole.choices,
        default=StaffRole.NONE,
        blank=True,
    )
    # Django admin access; supervisors get it, agents work on the desk only.
    is_staff = models.BooleanField(_("admin site access"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ("email",)

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name.split(" ")[0] if self.full_name else "") or self.email

    @property
    def is_agent(self) -> bool:
        """Provider staff who work the desk (agents and supervisors)."""
        return self.is_active and self.staff_role in {StaffRole.AGENT, StaffRole.SUPERVISOR}

    @property
    def is_supervisor(self) -> bool:
        return self.is_active and self.staff_role == StaffRole.SUPERVISOR


class Contract(models.TextChoices):
    """The organization's support agreement (POL-SEV-5)."""

    STANDARD = "standard", _("Standard")
    ADVANCED = "advanced", _("Advanced (premium)")


class Partner(models.Model):
    """A reseller the organization bought through; shown first in the portal (POL-WHO-4)."""

    name = models.CharField(_("name"), max_length=200)
    phone = PhoneNumberField(_("phone"), blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    url = models.URLField(_("web site"), blank=True)

    class Meta:
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class OrganizationQuerySet(models.QuerySet["Organization"]):
    def for_user(self, user: User) -> OrganizationQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user).distinct()


class Organization(models.Model):
    """A customer tenant."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    # Any: a Country at run time; django-countries' stubs, read through the Django plugin,
    # would type it as str.
    country: Any = CountryField(verbose_name=_("country"))
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[_validate_time_zone]
    )
    contract = models.CharField(
        _("support contract"), max_length=16, choices=Contract.choices, default=Contract.STANDARD
    )
    partner = models.ForeignKey(
        Partner,
        verbose_name=_("partner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organizations",
    )
    # Its own SLA terms; empty: its contract's policy, else the default (severity.models).
    sla_policy = models.ForeignKey(
        "severity.SlaPolicy",
        verbose_name=_("SLA policy"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organizations",
        help_text=_("Empty: the policy of its contract, else the default policy."),
    )
    # Closed requests older than this many days are purged with their files (privacy.tasks);
    # empty: kept for ever.
    retention_days = models.PositiveIntegerField(
        _("retention (days)"),
        null=True,
        blank=True,
        # tenants.retention checks the same bounds for the services.
        validators=[MinValueValidator(30), MaxValueValidator(36500)],
        help_text=_(
            "Closed requests are deleted, with their messages and files, this many days "
            "after they closed. Empty: kept for ever."
        ),
    )
    # Set by its global admins (tenants.security): its admins then need a second factor
    # for the portal, as provider staff always do (mfa.middleware).
    mfa_required_for_admins = models.BooleanField(
        _("second factor required for admins"),
        default=False,
        help_text=_(
            "The organization's admins must add an authenticator app or a passkey, and use "
            "it at every sign-in, before they reach the portal."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    """Tenant roles (POL-WHO-1/2)."""

    GLOBAL_ADMIN = "global_admin", _("Global admin")
    BILLING_ADMIN = "billing_admin", _("Billing admin")
    SERVICE_SUPPORT_ADMIN = "service_support_admin", _("Service support admin")
    USER = "user", _("User")

    @classmethod
    def admin_roles(cls) -> frozenset[str]:
        return frozenset({cls.GLOBAL_ADMIN, cls.BILLING_ADMIN, cls.SERVICE_SUPPORT_ADMIN})


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices, default=Role.USER)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ("organization__name", "user__email")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role in Role.admin_roles()


# A newly registered contact receives PIN codes only after this cool-off (POLICY.md PIN defaults).
CONTACT_COOL_OFF = timedelta(hours=48)


def _cool_off_end() -> datetime:
    return timezone.now() + CONTACT_COOL_OFF


class RegisteredContactQuerySet[M: models.Model](models.QuerySet[M]):
    def usable_at(self, now: datetime) -> RegisteredContactQuerySet[M]:
        """Contacts past their cool-off, so a PIN may be sent to them."""
        return self.filter(active_from__lte=now)


class RegisteredContact(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    label = models.CharField(_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("registered"), default=timezone.now)
    active_from = models.DateTimeField(
        _("receives codes from"),
        default=_cool_off_end,
        help_text=_("A new contact receives verification codes only after a 48-hour cool-off."),
    )

    objects = RegisteredContactQuerySet.as_manager()

    class Meta:
        abstract = True


class RegisteredPhone(RegisteredContact):
    """A phone number registered in the organization's profile (POL-PIN-1, POL-PIN-3)."""

    number = PhoneNumberField(_("phone number"))

    class Meta:
        verbose_name = _("registered phone number")
        verbose_name_plural = _("registered phone numbers")
        ordering = ("organization", "number")
        default_related_name = "registered_phones"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="registered_phone_unique"
            )
        ]

    def __str__(self) -> str:
        return str(self.number)


class RegisteredEmail(RegisteredContact):
    """An e-mail address registered in the organization's profile (POL-PIN-1)."""

    email = models.EmailField(_("e-mail address"))

    class Meta:
        verbose_name = _("registered e-mail address")
        verbose_name_plural = _("registered e-mail addresses")
        ordering = ("organization", "email")
        default_related_name = "registered_emails"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "email"], name="registered_email_unique"
            )
        ]

    def __str__(self) -> str:
        return self.email


class ContactAction(models.TextChoices):
    PHONE_ADDED = "phone_added", _("phone number added")
    EMAIL_ADDED = "email_added", _("e-mail address added")
    PHONE_REMOVED = "phone_removed", _("phone number removed")
    EMAIL_REMOVED = "email_removed", _("e-mail address removed")
    REFUSED = "refused", _("change refused")


class ContactChange(models.Model):
    """One change of the registered contacts, or one refused attempt, for the audit trail.

    Written only by ``tenants.services``. Values are kept masked: the trail is read by
    support staff, who see contacts masked everywhere. Wrong passwords are counted here
    (``reason="wrong_password"``) to slow down password guessing.
    """

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="contact_changes",
        verbose_name=_("organization"),
    )
    actor = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    # Who acted, as they were called then; kept if the user is later deleted.
    actor_label = models.CharField(_("changed by"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=ContactAction.choices)
    # Why a change was refused: "forbidden", "wrong_password" or "throttled".
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    masked_value = models.CharField(_("contact (masked)"), max_length=200, blank=True)
    # Who was told, filled in after the notices were sent.
    outcome = models.TextField(_("outcome"), blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("registered contact change")
        verbose_name_plural = _("registered contact changes")
        ordering = ("created_at", "pk")
        indexes = [
            models.Index(fields=["organization", "created_at"], name="contact_change_org_time"),
            models.Index(
                fields=["actor", "reason", "created_at"], name="contact_change_actor_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.organization}"


class MembershipAction(models.TextChoices):
    ADDED = "added", _("member added")
    ROLE_CHANGED = "role_changed", _("role changed")
    REMOVED = "removed", _("member removed")


class MembershipChange(models.Model):
    """One change of who belongs to an organization and with which role, for the audit
    trail (POL-WHO-2: the roles decide who may talk to support). Written only by
    ``tenants.services``; names are kept as they were, so the trail outlives the people."""

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="membership_changes",
        verbose_name=_("organization"),
    )
    actor = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    actor_label = models.CharField(_("changed by"), max_length=200, blank=True)
    member = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("member"),
    )
    member_label = models.CharField(_("member"), max_length=200)
    action = models.CharField(_("action"), max_length=16, choices=MembershipAction.choices)
    # Empty for a member added (they had no role before).
    role_before = models.CharField(
        _("role before"), max_length=32, choices=Role.choices, blank=True
    )
    role_after = models.CharField(_("role after"), max_length=32, choices=Role.choices, blank=True)
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("membership change")
        verbose_name_plural = _("membership changes")
        ordering = ("created_at", "pk")
        indexes = [
            models.Index(fields=["organization", "created_at"], name="membership_change_org_time")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.member_label} · {self.organization}"


__all__ = [
    "ContactAction",
    "ContactChange",
    "Contract",
    "Membership",
    "MembershipAction",
    "MembershipChange",
    "Organization",
    "Partner",
    "RegisteredEmail",
    "RegisteredPhone",
    "Role",
    "StaffRole",
    "User",
]

# Machine credentials live in their own module; imported here to register the models.
from tenants.credentials import AgentToken, ApiKey, IdempotencyRecord  # noqa: E402

__all__ += ["AgentToken", "ApiKey", "IdempotencyRecord"]
