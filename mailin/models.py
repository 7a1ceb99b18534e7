"""Every e-mail the desk received, once per Message-ID, with what was done with it.

Written only by ``mailin.services.ingest``. The unique Message-ID is what makes a message
fetched twice (a transport's retry, two fetchers at once) act once.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    REPLIED = "replied", _("Added to the request as the customer's reply")
    FILED = "filed", _("Filed as a new request")
    REFUSED = "refused", _("Refused")
    IGNORED = "ignored", _("Ignored (automatic mail)")
    # Only while the message is being acted on, inside the ingest transaction.
    PENDING = "pending", _("Being processed")


def raw_mail_path(instance: IncomingMail, filename: str) -> str:
    """A random name: nothing the sender wrote reaches the file system."""
    return f"mail/incoming/{instance.received_at:%Y/%m}/{uuid.uuid4().hex}.eml"


class IncomingMailQuerySet(models.QuerySet["IncomingMail"]):
    def answered_since(self, sender: str, since: object) -> IncomingMailQuerySet:
        """Mails of this sender we sent an automatic answer to since then."""
        return self.filter(sender=sender, answered_at__gte=since)


class IncomingMail(models.Model):
    # With its angle brackets, as in the header (tickets.OutgoingMail does the same).
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    sender = models.EmailField(_("sender"), max_length=254)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received"))
    # The transport that handed it over (maildir, imap, pipe, webhook…).
    source = models.CharField(_("source"), max_length=32)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    reason = models.TextField(_("reason"), blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incoming_mails",
        verbose_name=_("service request"),
    )
    # The customer reply this e-mail became.
    ticket_message = models.ForeignKey(
        "tickets.Message",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incoming_mails",
        verbose_name=_("message"),
    )
    # The original e-mail, as received, for agents to open.
    raw = models.FileField(_("original e-mail"), upload_to=raw_mail_path, max_length=255)
    # When we sent the sender an automatic answer (refusal, filing receipt); it rate-limits
    # the answers to one address.
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    objects = IncomingMailQuerySet.as_manager()

    class Meta:
        verbose_name = _("incoming e-mail")
        verbose_name_plural = _("incoming e-mails")
        ordering = ("-received_at", "-pk")
        indexes = [models.Index(fields=["sender", "answered_at"], name="incomingmail_answered")]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.action})"
