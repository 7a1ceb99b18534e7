"""The stored vocabulary of severity, shared by models in several apps.

The string values are the ones the pure ``severity.assessment`` module uses, so a
model field and an assessment speak the same language without conversion.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    A = "A", _("A – critical")
    B = "B", _("B – high")
    C = "C", _("C – non-critical")


class Category(models.TextChoices):
    """Request categories (POL-REQ-3)."""

    TECHNICAL = "technical", _("Technical")
    PRESALES = "presales", _("Pre-sales")
    BILLING = "billing", _("Billing and subscription")


class Impact(models.TextChoices):
    """How badly the service is affected (POL-SEV-2..4)."""

    SERVICE_DOWN = "service_down", _("Unavailable or unusable")
    DEGRADED = "degraded", _("Usable but impaired")
    MINIMAL = "minimal", _("Minimal impact, a workaround exists")


class Scope(models.TextChoices):
    MANY = "many", _("Several users or services")
    ONE = "one", _("One user or one service partially")
