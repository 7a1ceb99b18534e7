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
