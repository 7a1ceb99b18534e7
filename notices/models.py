"""In-app notices for staff, their e-mail preferences, followers and CC (issue 14)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tickets.models import Event, Ticket


class NoticeKind(models.TextChoices):
    NEW_URGENT = "new_urgent", _("New Severity A request")
    CUSTOMER_REPLIED = "customer_replied", _("Customer replied")
    REOPENED = "reopened", _("Request reopened")
    ASSIGNED = "assigned", _("Assigned to you")
    WARNED = "warned", _("Deadline warning")
    ESCALATED = "escalated", _("Escalated")


class StaffNoticeQuerySet(models.QuerySet["StaffNotice"]):
    def for_user(self, user: object) -> StaffNoticeQuerySet:
        return self.filter(recipient=user)

    def unread(self) -> StaffNoticeQuerySet:
        return self.filter(read_at__isnull=True)

    def newest_first(self) -> StaffNoticeQuerySet:
        return self.order_by("-created_at", "-pk")


class StaffNotice(models.Model):
    """One Event told to one person on staff: at most once per recipient and Event."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_notices"
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=32, choices=NoticeKind.choices)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = StaffNoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("staff notice")
        verbose_name_plural = _("staff notices")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event"], name="notice_once_per_event")
        ]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notice_unread")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.ticket_id} → {self.recipient_id}"


class NoticePreference(models.Model):
    """Which notices also come by e-mail; the in-app notice is always written. Every kind
    is on by default, as the desk e-mailed these before the inbox existed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preference"
    )
    email_new_urgent = models.BooleanField(_("new Severity A requests"), default=True)
    email_customer_replied = models.BooleanField(_("customer replies"), default=True)
    email_reopened = models.BooleanField(_("reopened requests"), default=True)
    email_assigned = models.BooleanField(_("assigned to me"), default=True)
    email_warned = models.BooleanField(_("deadline warnings"), default=True)
    email_escalated = models.BooleanField(_("escalations"), default=True)

    class Meta:
        verbose_name = _("notice preference")
        verbose_name_plural = _("notice preferences")

    def __str__(self) -> str:
        return f"notice preferences of {self.user_id}"

    def wants_email(self, kind: str) -> bool:
        return bool(getattr(self, f"email_{kind}", True))


class TicketFollower(models.Model):
    """An agent who is told about a ticket like its assignee."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="follower_once_per_ticket")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.ticket_id}"


class TicketCc(models.Model):
    """A colleague of the ticket's organization kept informed of its public updates."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("kept informed")
        verbose_name_plural = _("kept informed")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="cc_once_per_ticket")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} kept informed of {self.ticket_id}"


class CcAction(models.TextChoices):
    ADDED = "added", _("added")
    REMOVED = "removed", _("removed")


class CcChange(models.Model):
    """Who added or removed whom from a ticket's CC, and when: the audit trail of CC."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(_("action"), max_length=16, choices=CcAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("CC change")
        verbose_name_plural = _("CC changes")

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} on {self.ticket_id}"
