"""An organization's security settings: whether its admins need a second factor.

The rule itself is enforced by ``mfa.middleware``; this module only changes the setting,
for the organization's global admins, with its audit row in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from audit import services as audit
from audit.actions import Action
from core.refusals import Refused
from tenants.models import Membership, Organization, Role

ERR_NOT_GLOBAL_ADMIN_SECURITY = _(
    "Only a global admin of the organization can change its security settings."
)


class SecuritySettingError(Refused):
    """A refused change of an organization's security settings."""


def may_manage_security(membership: Membership) -> bool:
    return membership.role == Role.GLOBAL_ADMIN and membership.user.is_active


@transaction.atomic
def organization_require_mfa(
    *,
    organization: Organization,
    actor_membership: Membership,
    required: bool,
    now: datetime,
) -> Organization:
    """Require (or stop requiring) a second factor of the organization's admins."""
    if actor_membership.organization_id != organization.pk or not may_manage_security(
        actor_membership
    ):
        raise SecuritySettingError(ERR_NOT_GLOBAL_ADMIN_SECURITY, code="forbidden")
    locked = Organization.objects.select_for_update().get(pk=organization.pk)
    before = locked.mfa_required_for_admins
    if before == required:
        return locked
    locked.mfa_required_for_admins = required
    locked.save(update_fields=["mfa_required_for_admins"])
    audit.record(
        action=Action.MFA_REQUIRED_CHANGED,
        actor=actor_membership.user,
        organization=locked,
        target=locked,
        before={"mfa_required_for_admins": before},
        after={"mfa_required_for_admins": required},
        now=now,
    )
    return locked
