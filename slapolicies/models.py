"""The audit trail of SLA policy and calendar edits made on the desk (issue 15).

The policies, versions, targets and calendars themselves live in ``severity.models``;
this app is the supervisors' editor over them (``slapolicies.services``), and every
write it makes leaves one ``PolicyChange`` row in the same transaction: who, what, when,
and the values before and after.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ChangeAction(models.TextChoices):
    POLICY_CREATED = "policy_created", _("Policy created")
    ORGANIZATION_POLICY_SET = "organization_policy_set", _("Organization's policy changed")
    VERSION_DRAFTED = "version_drafted", _("New version drafted")
    DRAFT_UPDATED = "draft_updated", _("Draft edited")
    DRAFT_DISCARDED = "draft_discarded", _("Draft discarded")
    VERSION_PUBLISHED = "version_published", _("Version published")
    CALENDAR_UPDATED = "calendar_updated", _("Calendar edited")
    WINDOWS_SET = "windows_set", _("Working windows changed")
    HOLIDAY_ADDED = "holiday_added", _("Holiday added")
    HOLIDAY_REMOVED = "holiday_removed", _("Holiday removed")
    EXTRA_DAY_ADDED = "extra_day_added", _("Extra working day added")
    EXTRA_DAY_REMOVED = "extra_day_removed", _("Extra working day removed")
    CALENDAR_IMPORTED = "calendar_imported", _("Days imported")


class PolicyChange(models.Model):
    """One write to an SLA policy, version, calendar or organization's policy.

    The references are nullable and survive the row they name (a discarded draft, a
    deleted calendar): ``before`` and ``after`` say what it was."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    action = models.CharField(_("action"), max_length=32, choices=ChangeAction.choices)
    policy = models.ForeignKey(
        "severity.SlaPolicy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("policy"),
    )
    version = models.ForeignKey(
        "severity.SlaPolicyVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("policy version"),
    )
    calendar = models.ForeignKey(
        "severity.Calendar",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("calendar"),
    )
    organization = models.ForeignKey(
        "tenants.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("SLA policy change")
        verbose_name_plural = _("SLA policy changes")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class PreviewStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    # A job's words, not the SLA clock's ("Running" of a clock reads differently in Polish).
    RUNNING = "running", pgettext_lazy("job status", "Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    # The draft changed, was published or discarded before a worker took it.
    STALE = "stale", _("Out of date")


class ReviewPreview(models.Model):
    """The review page's preview of what publishing a draft does to the open requests,
    when there are too many of them to count in the request (``slapolicies.previews``):
    a worker computes it batch by batch, and this row is the page's progress bar and
    then its result. It answers for the draft as it stood (``fingerprint``): the page
    says so when the draft has changed since."""

    # A discarded draft leaves the row behind, without its version: the page says so.
    version = models.ForeignKey(
        "severity.SlaPolicyVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("policy version"),
    )
    fingerprint = models.CharField(max_length=64)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=PreviewStatus.choices, default=PreviewStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("open requests"), default=0)
    done = models.PositiveIntegerField(_("previewed"), default=0)
    moved_earlier = models.PositiveIntegerField(_("move earlier"), default=0)
    moved_later = models.PositiveIntegerField(_("move later"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    breached_now = models.PositiveIntegerField(_("would breach at once"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now, db_index=True)
    # The time the deadlines were judged against ("would breach at once").
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Moved on every batch: a running preview that stops moving lost its worker.
    touched_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA review preview")
        verbose_name_plural = _("SLA review previews")
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return f"{self.get_status_display()} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == PreviewStatus.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, self.done * 100 // self.total)

    @property
    def finished(self) -> bool:
        return self.status in (PreviewStatus.DONE, PreviewStatus.FAILED, PreviewStatus.STALE)
