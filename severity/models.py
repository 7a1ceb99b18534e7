"""SLA policies, their versions and targets, and business calendars, as data.

Seeded from POLICY.md by data migrations. A policy is a named set of terms; each edit
is a new *version* (targets per severity and category, plus the escalation steps), and a
ticket is measured against the version it records (``tickets.Ticket.sla_version``).
A published version never changes, so it is cached per process without expiry.

Calendars are shared facts ("when we work"), edited in place. Every change to a
calendar, its windows, holidays or extra days bumps its ``revision`` (model signals, and
``calendar_changed`` for bulk writes that fire none). Each process caches the pure
``BusinessCalendar`` by (calendar, revision, updated_at) and reads the revisions of all
calendars at most once every ``FRESHNESS_SECONDS`` — a few rows, one query — so an edit
made anywhere (admin, desk, shell, import, another process) is in use everywhere
within that time, at the cost of one dictionary lookup on the hot path. The sweep then
re-measures the open tickets on a changed calendar (``measured_revision``).
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal
from threading import Lock
from time import monotonic

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from severity.calendars import BusinessCalendar, Window
from severity.choices import Category, Severity

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def _validate_zone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Calendar(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[_validate_zone]
    )
    # POL-SLA-4: pre-sales works "local business hours" – the customer's own zone.
    uses_organization_time_zone = models.BooleanField(
        _("in the organization's time zone"),
        default=False,
        help_text=_("Working hours are read in each organization's own time zone."),
    )
    extra_day_template = models.PositiveSmallIntegerField(
        _("extra working days follow"),
        choices=WEEKDAYS,
        default=0,
        help_text=_("Extra working days are worked with this weekday's hours."),
    )
    # Public holidays imported from the ``holidays`` package (severity.holiday_sources).
    holiday_country = models.CharField(
        _("public holidays of"),
        max_length=2,
        blank=True,
        help_text=_("ISO country code whose public holidays are imported (CN, PL …)."),
    )
    holiday_subdivision = models.CharField(_("region"), max_length=10, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Bumped by every change to the calendar or its days (calendar_changed): the key of
    # every process's cached BusinessCalendar.
    revision = models.PositiveIntegerField(_("revision"), default=1, editable=False)
    # The revision the open tickets' stored deadlines were last measured on; the sweep
    # starts a re-measure when it lags behind ``revision``.
    measured_revision = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class CalendarWindow(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="windows")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAYS)
    start = models.TimeField(_("opens"))
    end = models.TimeField(_("closes"), null=True, blank=True, help_text=_("Empty means 24:00."))

    class Meta:
        verbose_name = _("working window")
        verbose_name_plural = _("working windows")
        ordering = ("weekday", "start")

    def __str__(self) -> str:
        end = self.end.strftime("%H:%M") if self.end else "24:00"
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{end}"

    def clean(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise ValidationError({"end": _("A window must close after it opens.")})


class CalendarHoliday(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    # Where the row came from: "" typed by hand, "holidays:CN", "ics:<file name>".
    source = models.CharField(_("source"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ("date",)
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendar_holiday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class CalendarExtraDay(models.Model):
    """A date normally closed that is worked (China's make-up working days)."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="extra_days")
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("extra working day")
        verbose_name_plural = _("extra working days")
        ordering = ("date",)
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calendar_extra_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


# --- SLA policies and their versions -----------------------------------------------------


class SlaPolicyQuerySet(models.QuerySet["SlaPolicy"]):
    def default(self) -> SlaPolicy:
        return self.get(is_default=True)


class SlaPolicy(models.Model):
    """A named set of SLA terms. The default applies to everyone; a policy for a contract
    (POL-SEV-5's standard or advanced) to its organizations; an organization may have
    its own (``tenants.Organization.sla_policy``). The most specific wins."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(_("default policy"), default=False)
    contract = models.CharField(
        _("for the contract"),
        max_length=16,
        blank=True,
        help_text=_("Applies to every organization on this contract without its own policy."),
    )
    # The published version in force for new tickets (null until the first is published).
    current_version = models.ForeignKey(
        "SlaPolicyVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("version in force"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = SlaPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ("-is_default", "contract", "name")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="sla_policy_one_default"
            ),
            models.UniqueConstraint(
                fields=["contract"], condition=~Q(contract=""), name="sla_policy_one_per_contract"
            ),
        ]

    def __str__(self) -> str:
        return self.name


def _validate_share(value: Decimal) -> None:
    if not Decimal(0) < value < Decimal(1):
        raise ValidationError(_("The warning comes after 0 % and before 100 % of the target."))


class SlaPolicyVersion(models.Model):
    """One version of a policy's terms: its targets (``targets``) and escalation steps.

    A draft is edited freely; publishing freezes it (``published_at``) and makes it the
    policy's version in force. Tickets keep the version they were measured against
    until a re-measure moves them (tickets.remeasure)."""

    policy = models.ForeignKey(
        SlaPolicy, on_delete=models.PROTECT, related_name="versions", verbose_name=_("policy")
    )
    number = models.PositiveIntegerField(_("version"))
    note = models.TextField(_("what changed"), blank=True, max_length=2000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    # Escalation steps on the response clock (workers issue): a warning at this share of
    # the target, level 1 at the deadline, level 2 at this multiple of the target.
    warning_share = models.DecimalField(
        _("warn at share of the target"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.75"),
        validators=[_validate_share],
    )
    second_escalation_factor = models.DecimalField(
        _("second escalation at multiple of the target"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("2"),
        validators=[MinValueValidator(Decimal("1.01")), MaxValueValidator(Decimal("10"))],
    )
    notify_supervisors = models.BooleanField(
        _("level 1 tells the supervisors"),
        default=True,
        help_text=_("The assignee is always told; supervisors too when this is on."),
    )
    duty_emails = models.TextField(
        _("level 2 tells"),
        blank=True,
        help_text=_("E-mail addresses of the duty manager(s), one per line."),
    )

    class Meta:
        verbose_name = _("SLA policy version")
        verbose_name_plural = _("SLA policy versions")
        ordering = ("policy", "-number")
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="sla_version_unique"),
            models.CheckConstraint(
                condition=Q(warning_share__gt=0) & Q(warning_share__lt=1),
                name="sla_version_warning_share",
            ),
            models.CheckConstraint(
                condition=Q(second_escalation_factor__gt=1), name="sla_version_second_factor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def duty_addresses(self) -> list[str]:
        return [a.strip() for a in self.duty_emails.replace(",", "\n").splitlines() if a.strip()]


class SlaTargetQuerySet(models.QuerySet["SlaTarget"]):
    def for_ticket_kind(self, version_id: int, severity: str, category: str) -> SlaTarget:
        return self.select_related("calendar", "version").get(
            version_id=version_id, severity=severity, category=category
        )


class SlaTarget(models.Model):
    """Per version, severity and category: the calendar and the working-time targets
    (POL-SLA-1..4)."""

    version = models.ForeignKey(
        SlaPolicyVersion,
        on_delete=models.CASCADE,
        related_name="targets",
        verbose_name=_("policy version"),
    )
    severity = models.CharField(_("severity"), max_length=1, choices=Severity.choices)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    calendar = models.ForeignKey(Calendar, on_delete=models.PROTECT, related_name="targets")
    first_response = models.DurationField(
        _("first response within"), help_text=_("Working time on the calendar.")
    )
    update_cadence = models.DurationField(
        _("agent update at least every"),
        null=True,
        blank=True,
        help_text=_("Continued work (POL-SLA-1): empty means no cadence after the first response."),
    )
    cooperation_window = models.DurationField(
        _("customer cooperation window"),
        help_text=_("Working time the customer has to provide what was asked (POL-SEV-7)."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = SlaTargetQuerySet.as_manager()

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        ordering = ("version", "severity", "category")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "severity", "category"], name="sla_target_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(first_response__gt=timedelta(0)),
                name="sla_target_response_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(cooperation_window__gt=timedelta(0)),
                name="sla_target_cooperation_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity} / {self.get_category_display()}"


# --- Per-process caches ------------------------------------------------------------------

# How stale a process may be about calendars and the versions in force: it re-reads the
# (few) calendar and policy rows at most this often. Writes through the models in this
# process are seen at once (the signals below).
FRESHNESS_SECONDS = 1.0


class _Fresh:
    """The calendars' revisions and the versions in force, as last read."""

    checked_at = float("-inf")
    calendars: dict[int, tuple[int, datetime]] = {}
    by_policy: dict[int, int] = {}
    by_contract: dict[str, int] = {}
    default: int | None = None


_lock = Lock()
_calendars: dict[tuple[int, int, datetime, str], BusinessCalendar] = {}
_targets: dict[tuple[int, str, str], SlaTarget] = {}
_rows: dict[int, Calendar] = {}


def _refresh(*, force: bool = False) -> None:
    now = monotonic()
    if not force and now - _Fresh.checked_at < FRESHNESS_SECONDS:
        return
    calendars = {
        pk: (revision, updated)
        for pk, revision, updated in Calendar.objects.values_list("pk", "revision", "updated_at")
    }
    by_policy: dict[int, int] = {}
    by_contract: dict[str, int] = {}
    default: int | None = None
    rows = SlaPolicy.objects.filter(current_version__isnull=False).values_list(
        "pk", "contract", "is_default", "current_version_id"
    )
    for pk, contract, is_default, version_id in rows:
        by_policy[pk] = version_id
        if contract:
            by_contract[contract] = version_id
        if is_default:
            default = version_id
    with _lock:
        _Fresh.calendars, _Fresh.by_policy = calendars, by_policy
        _Fresh.by_contract, _Fresh.default = by_contract, default
        _Fresh.checked_at = now


def _current_row(calendar: Calendar) -> Calendar:
    """The calendar's row as of the last freshness check (``calendar`` itself when it is
    that row): one query per change and process, none otherwise."""
    _refresh()
    fresh = _Fresh.calendars.get(calendar.pk)
    if fresh is None:  # created since the last read
        _refresh(force=True)
        fresh = _Fresh.calendars.get(calendar.pk)
    if fresh is None or (calendar.revision, calendar.updated_at) == fresh:
        return calendar
    row = _rows.get(calendar.pk)
    if row is None or (row.revision, row.updated_at) != fresh:
        row = Calendar.objects.get(pk=calendar.pk)
        with _lock:
            _rows[calendar.pk] = row
    return row


def refresh_now() -> None:
    """Re-read the calendars' revisions and the versions in force now (a worker about to
    re-measure after a change made elsewhere)."""
    _refresh(force=True)


def business_calendar(
    calendar: Calendar, *, organization_tz: str | None = None
) -> BusinessCalendar:
    """The pure calendar of a row, as the database holds it now (within FRESHNESS_SECONDS),
    in the organization's zone where the row says so. The row passed may be an older
    copy (a cached target's): only its id is trusted."""
    calendar = _current_row(calendar)
    revision, updated = calendar.revision, calendar.updated_at
    zone = (
        organization_tz
        if calendar.uses_organization_time_zone and organization_tz
        else calendar.time_zone
    )
    # updated_at besides revision: a revision rolled back with its transaction and taken
    # again by another change must not find the first change's calendar.
    key = (calendar.pk, revision, updated, zone)
    cached = _calendars.get(key)
    if cached is not None:
        return cached
    built = BusinessCalendar(
        zone,
        [Window(w.weekday, w.start, w.end) for w in calendar.windows.all()],
        holidays=[h.date for h in calendar.holidays.all()],
        extra_working_days=[d.date for d in calendar.extra_days.all()],
        extra_day_template=calendar.extra_day_template,
        name=calendar.name,
    )
    with _lock:
        # Older revisions of the same calendar are dropped so edits do not accumulate.
        for stale in [k for k in _calendars if k[0] == calendar.pk and k[1:3] != key[1:3]]:
            del _calendars[stale]
        _calendars[key] = built
    return built


def version_in_force(*, policy_id: int | None, contract: str) -> int:
    """The id of the published version a new ticket is measured against: the
    organization's own policy, else its contract's, else the default (most specific
    wins)."""
    _refresh()
    found = (
        (_Fresh.by_policy.get(policy_id) if policy_id is not None else None)
        or _Fresh.by_contract.get(contract)
        or _Fresh.default
    )
    if found is None:
        _refresh(force=True)
        found = (
            (_Fresh.by_policy.get(policy_id) if policy_id is not None else None)
            or _Fresh.by_contract.get(contract)
            or _Fresh.default
        )
    if found is None:
        raise SlaPolicy.DoesNotExist("no published default SLA policy")
    return found


def version_target(version_id: int, severity: str, category: str) -> SlaTarget:
    """The target of a version for a kind of ticket (with its calendar and version rows).

    A published version never changes, so its targets are kept for the life of the
    process; a draft's are read every time. The instance is shared: read it, never
    change it."""
    key = (version_id, severity, category)
    hit = _targets.get(key)
    if hit is not None:
        return hit
    target = SlaTarget.objects.for_ticket_kind(version_id, severity, category)
    if target.version.is_published:
        with _lock:
            _targets[key] = target
    return target


_versions: dict[int, SlaPolicyVersion] = {}


def policy_version(version_id: int) -> SlaPolicyVersion:
    """A version's row (its escalation steps), kept for the life of the process once
    published. Shared: read it, never change it."""
    hit = _versions.get(version_id)
    if hit is not None:
        return hit
    version = SlaPolicyVersion.objects.select_related("policy").get(pk=version_id)
    if version.is_published:
        with _lock:
            _versions[version_id] = version
    return version


def calendar_changed(calendar_id: int) -> None:
    """Record a change to a calendar or its days: every process rebuilds it on next use,
    and the sweep re-measures the open tickets on it. Bulk writes (which fire no
    signals) call this themselves."""
    Calendar.objects.filter(pk=calendar_id).update(
        revision=F("revision") + 1, updated_at=timezone.now()
    )
    _Fresh.checked_at = float("-inf")


def forget_targets(**_: object) -> None:
    """Drop this process's caches (tests start cold; an edit here is seen at once)."""
    with _lock:
        _targets.clear()
        _calendars.clear()
        _rows.clear()
        _versions.clear()
        _Fresh.checked_at = float("-inf")


def _on_day_change(sender: type[models.Model], instance: models.Model, **_: object) -> None:
    calendar_id = getattr(instance, "calendar_id", None)
    if calendar_id is not None:
        calendar_changed(calendar_id)


def _on_calendar_save(sender: type[Calendar], instance: Calendar, **kwargs: object) -> None:
    if not kwargs.get("raw"):
        calendar_changed(instance.pk)


def _on_policy_change(**_: object) -> None:
    _Fresh.checked_at = float("-inf")


models.signals.post_save.connect(_on_calendar_save, sender=Calendar, weak=False)
models.signals.post_delete.connect(_on_policy_change, sender=Calendar, weak=False)
_day_models: tuple[type[models.Model], ...] = (CalendarWindow, CalendarHoliday, CalendarExtraDay)
for _day_model in _day_models:
    models.signals.post_save.connect(_on_day_change, sender=_day_model, weak=False)
    models.signals.post_delete.connect(_on_day_change, sender=_day_model, weak=False)
_policy_models: tuple[type[models.Model], ...] = (SlaPolicy, SlaPolicyVersion, SlaTarget)
for _policy_model in _policy_models:
    models.signals.post_save.connect(_on_policy_change, sender=_policy_model, weak=False)
    models.signals.post_delete.connect(_on_policy_change, sender=_policy_model, weak=False)


__all__ = [
    "Calendar",
    "SlaPolicy",
    "SlaPolicyVersion",
    "SlaTarget",
    "business_calendar",
    "calendar_changed",
    "version_in_force",
    "version_target",
]
