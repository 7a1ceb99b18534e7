"""Outbound webhooks: an organization's endpoints and the log of deliveries to them.

A delivery is created from a ticket ``Event`` by the outbox (one per endpoint and Event,
unique, so a re-run outbox creates nothing twice), sent by its own Celery task on the
``webhooks`` queue, signed with the endpoint's secret, retried with exponential backoff,
and logged with its outcome. An endpoint is sent one delivery at a time (its
``sending_until`` lease), and one that keeps failing is stopped for a while (its circuit
breaker: ``circuit_open_until``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEventType(models.TextChoices):
    TICKET_CREATED = "ticket.created", _("Request filed")
    TICKET_UPDATED = "ticket.updated", _("Request changed")
    TICKET_MESSAGE_CREATED = "ticket.message_created", _("New public message")
    TICKET_RESOLVED = "ticket.resolved", _("Request resolved")
    SLA_WARNING = "sla.warning", _("Response deadline close")
    SLA_BREACHED = "sla.breached", _("Response deadline missed")
    SEVERITY_DOWNGRADED = "severity.downgraded", _("Severity lowered")
    REQUESTS_PURGED = "requests.purged", _("Closed requests purged (retention)")


class CircuitState(models.TextChoices):
    CLOSED = "closed", _("Sending")
    OPEN = "open", _("Stopped after failures")
    HALF_OPEN = "half_open", _("Trying again")


class WebhookEndpointQuerySet(models.QuerySet["WebhookEndpoint"]):
    def for_org(self, organization: object) -> WebhookEndpointQuerySet:
        return self.filter(organization=organization)

    def active(self) -> WebhookEndpointQuerySet:
        return self.filter(is_active=True)


class WebhookEndpoint(models.Model):
    organization = models.ForeignKey(
        "tenants.Organization",
        on_delete=models.CASCADE,
        related_name="webhook_endpoints",
        verbose_name=_("organization"),
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Kept in clear: signing needs it. Shown to the customer once, when registered.
    secret = models.CharField(max_length=80, editable=False)
    event_types = models.JSONField(_("event types"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # A worker sending to this endpoint holds it until then (one delivery at a time per
    # endpoint); a lease, so a worker that dies frees it when it runs out.
    sending_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The circuit breaker: failed attempts in a row; after WEBHOOK_CIRCUIT_FAILURES the
    # endpoint's deliveries are held until ``circuit_open_until``, then one is tried.
    consecutive_failures = models.PositiveIntegerField(
        _("failures in a row"), default=0, editable=False
    )
    circuit_open_until = models.DateTimeField(
        _("stopped until"), null=True, blank=True, editable=False
    )

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ("organization", "-created_at")

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.is_active and event_type in (self.event_types or [])

    @property
    def circuit_state(self) -> CircuitState:
        return self.circuit()

    def circuit(self, now: datetime | None = None) -> CircuitState:
        """Closed: sent as usual; open: deliveries held until ``circuit_open_until``;
        half-open: the cool-down is over and the next delivery is the trial."""
        if self.circuit_open_until is None:
            return CircuitState.CLOSED
        if self.circuit_open_until > (now or timezone.now()):
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        "tickets.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    event_type = models.CharField(_("event type"), max_length=40, choices=WebhookEventType.choices)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_response_code = models.PositiveSmallIntegerField(_("last response"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ("-created_at", "-pk")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
