"""Privacy (issue 17): exports of a person's or an organization's data.

Erasure and the retention purge change other apps' rows and keep their record in the audit
trail; only the export needs a row of its own: the job a worker fills in batches (the
progress bar) and the one-time download its requester collects.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tenants.models import Organization


class ExportKind(models.TextChoices):
    ORGANIZATION = "organization", _("Organization")
    PERSON = "person", _("Person")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", pgettext_lazy("data export status", "Running")
    READY = "ready", _("Ready to download")
    DOWNLOADED = "downloaded", _("Downloaded")
    EXPIRED = "expired", pgettext_lazy("data export status", "Expired")
    FAILED = "failed", _("Failed")


class ExportVia(models.TextChoices):
    DESK = "desk", _("Desk")
    PORTAL = "portal", _("Portal")


class ExportJobQuerySet(models.QuerySet["ExportJob"]):
    def requested_by(self, user: object) -> ExportJobQuerySet:
        return self.filter(requested_by=user)

    def ready_until_before(self, moment: object) -> ExportJobQuerySet:
        """Ready exports nobody collected in time."""
        return self.filter(status=ExportStatus.READY, expires_at__lt=moment)


class ExportJob(models.Model):
    """One export: who asked, whose data, how far the worker got, and the file.

    The file lives in the default storage under ``privacy/exports/`` with a random name;
    no URL serves that folder, only the requester's one-time download view."""

    kind = models.CharField(_("kind"), max_length=16, choices=ExportKind.choices)
    # The organization exported, or the one a person's export is limited to (a customer's
    # global admin sees only their organization's part); empty: a supervisor's export of a
    # person across every organization.
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_via = models.CharField(_("requested on"), max_length=8, choices=ExportVia.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("items"), default=0)
    done = models.PositiveIntegerField(_("items written"), default=0)
    file = models.CharField(_("file"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    # Moved on every batch: a running export that stops moving lost its worker.
    touched_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("download until"), null=True, blank=True)
    downloaded_at = models.DateTimeField(_("downloaded"), null=True, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_requester")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} export #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status in (ExportStatus.READY, ExportStatus.DOWNLOADED):
            return 100
        if not self.total:
            return 0
        return min(100, self.done * 100 // self.total)

    @property
    def finished(self) -> bool:
        return self.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    @property
    def subject_label(self) -> str:
        if self.kind == ExportKind.PERSON and self.person is not None:
            return self.person.email
        return self.organization.name if self.organization is not None else ""
