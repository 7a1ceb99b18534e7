"""An organization's retention period: how long its closed requests are kept (issue 17).

The one write of ``Organization.retention_days``, from the portal's privacy settings and
the Django admin alike, with its audit row in the same transaction. The purge itself runs
in ``privacy.services`` (a beat task), which reads the period set here.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from audit.actions import Action
from audit.services import record
from core.refusals import Refused
from tenants.models import Organization, User

RETENTION_MIN_DAYS = 30
RETENTION_MAX_DAYS = 36500


ERR_RETENTION_RANGE = _(
    "Keep closed requests between %(min)d and %(max)d days, or leave it empty to keep them "
    "for ever."
)


class RetentionRefused(Refused):
    pass


def _check(days: int | None) -> None:
    if days is not None and not RETENTION_MIN_DAYS <= days <= RETENTION_MAX_DAYS:
        raise RetentionRefused(
            ERR_RETENTION_RANGE % {"min": RETENTION_MIN_DAYS, "max": RETENTION_MAX_DAYS},
            field="retention_days",
        )


@transaction.atomic
def retention_set(
    *, organization: Organization, days: int | None, actor: User | None, now: datetime
) -> bool:
    """Set the period (None: keep for ever). Returns whether it changed; an unchanged
    value writes nothing."""
    _check(days)
    before = Organization.objects.select_for_update().values_list("retention_days", flat=True)
    previous = before.get(pk=organization.pk)
    organization.retention_days = days
    if previous == days:
        return False
    Organization.objects.filter(pk=organization.pk).update(retention_days=days)
    record(
        action=Action.RETENTION_CHANGED,
        actor=actor,
        organization=organization,
        target=organization,
        before={"retention_days": previous},
        after={"retention_days": days},
        now=now,
    )
    return True
