"""Signal receivers of the desk: cached reads dropped when what they show changes."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from helpcenter.models import Service
from tenants.models import Organization, User
from tickets.desk_forms import forget_filter_choices
from tickets.health import forget_banner_sweep_status
from tickets.models import WorkerHeartbeat


@receiver(post_save, sender=Organization, dispatch_uid="desk-choices-organization-saved")
@receiver(post_delete, sender=Organization, dispatch_uid="desk-choices-organization-deleted")
@receiver(post_save, sender=Service, dispatch_uid="desk-choices-product-saved")
@receiver(post_delete, sender=Service, dispatch_uid="desk-choices-product-deleted")
@receiver(post_save, sender=User, dispatch_uid="desk-choices-user-saved")
@receiver(post_delete, sender=User, dispatch_uid="desk-choices-user-deleted")
def filter_choices_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    """The queue's filter selects name organizations, products and agents."""
    forget_filter_choices()


@receiver(post_save, sender=WorkerHeartbeat, dispatch_uid="desk-banner-heartbeat-saved")
@receiver(post_delete, sender=WorkerHeartbeat, dispatch_uid="desk-banner-heartbeat-deleted")
def heartbeat_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    """The desk's banner says whether the sweep runs."""
    forget_banner_sweep_status()
