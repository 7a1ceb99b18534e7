"""The audit trail (issue 17): one append-only row per change to who can do what, or to
what customers rely on, written in the same transaction as the change it records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from audit.actions import Action, Channel


class AuditImmutable(Exception):
    """An audit row was about to be changed or deleted by the application."""


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def for_organization(self, organization_id: int) -> AuditQuerySet:
        return self.filter(organization_id=organization_id)

    def newest_first(self) -> AuditQuerySet:
        return self.order_by("-at", "-pk")

    # The viewer's filters (audit.selectors), one condition each.
    def of_action(self, action: str) -> AuditQuerySet:
        return self.filter(action=action)

    def without_actions(self, actions: Iterable[str]) -> AuditQuerySet:
        return self.exclude(action__in=list(actions))

    def via(self, channel: str) -> AuditQuerySet:
        return self.filter(channel=channel)

    def by_actor_named(self, text: str) -> AuditQuerySet:
        return self.filter(actor_label__icontains=text)

    def about(self, text: str) -> AuditQuerySet:
        """Rows whose object's name contains ``text``, or whose object id is ``text``."""
        return self.filter(models.Q(target_label__icontains=text) | models.Q(target_id=text))

    def since(self, moment: datetime) -> AuditQuerySet:
        return self.filter(at__gte=moment)

    def before(self, moment: datetime) -> AuditQuerySet:
        return self.filter(at__lt=moment)

    # The trail cannot be edited or emptied through the ORM's bulk paths either; the one
    # exception (erasure of a person's name) goes through audit.services.forget_person.
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutable("audit rows are never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit rows are never deleted")


class AuditEntry(models.Model):
    at = models.DateTimeField(_("time"), db_index=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    # Who acted, as they were called then: the trail outlives the people it names.
    actor_label = models.CharField(_("by"), max_length=200, blank=True)
    # The tenant the change belongs to; none for the provider's own settings.
    organization = models.ForeignKey(
        "tenants.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    target_type = models.CharField(_("object type"), max_length=60, blank=True)
    target_id = models.CharField(_("object id"), max_length=64, blank=True)
    target_label = models.CharField(_("object"), max_length=300, blank=True)
    # What changed: values as they were and as they became (secrets never, contacts masked).
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ("-at", "-pk")
        indexes = [
            models.Index(fields=["organization", "-at"], name="audit_org_time"),
            models.Index(fields=["action", "-at"], name="audit_action_time"),
            models.Index(fields=["actor", "-at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.actor_label or '—'} · {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AuditImmutable("audit rows are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit rows are never deleted")
