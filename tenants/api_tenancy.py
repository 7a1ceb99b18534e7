"""The one way an API endpoint learns which organization it acts for (DESIGN.md "Tenancy").

- An organization API key: that key's organization, with the key's role.
- A signed-in browser session of a customer admin: the organization named by the
  ``X-Organization`` header (its slug), or the only organization the person administers.

Every tenant query in the API starts from the organization resolved here, so another
organization's ids answer 404. Provider staff use the desk endpoints instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tenants.credentials import AgentToken, ApiKey
from tenants.models import Membership, Organization, Role, User

ORGANIZATION_HEADER = "X-Organization"
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,60}")

ERR_NOT_ADMIN = _(
    "Only your organization's admins can contact support. Ask one of your admins, or use "
    "the help centre."
)
ERR_PICK_ORGANIZATION = _(
    "You administer several organizations: name one in the X-Organization header."
)
ERR_GLOBAL_ADMIN_ONLY = _("Only a global admin (or a global admin's API key) can do this.")
ERR_AGENTS_ONLY = _("These endpoints are for support staff.")


@dataclass(frozen=True, slots=True)
class ApiTenant:
    organization: Organization
    role: str
    user: User | None  # the signed-in admin; None for an API key
    key: ApiKey | None

    @property
    def label(self) -> str:
        if self.key is not None:
            return self.key.label
        assert self.user is not None
        return self.user.email


# Resolved once per request: the permission check and the view both ask.
_CACHE_ATTRIBUTE = "_api_tenant"


def api_tenant(request: Request) -> ApiTenant:
    """The acting organization of a customer request; raises a 403 when there is none."""
    cached = getattr(request, _CACHE_ATTRIBUTE, None)
    if isinstance(cached, ApiTenant):
        return cached
    tenant = _resolve(request)
    setattr(request, _CACHE_ATTRIBUTE, tenant)
    return tenant


def _resolve(request: Request) -> ApiTenant:
    auth = request.auth
    if isinstance(auth, ApiKey):
        return ApiTenant(auth.organization, auth.role, None, auth)
    user = request.user
    if isinstance(auth, AgentToken) or not isinstance(user, User):
        raise exceptions.PermissionDenied(ERR_NOT_ADMIN, code="not_admin")
    memberships = Membership.objects.select_related("organization").filter(
        user=user, role__in=Role.admin_roles(), user__is_active=True
    )
    slug = request.headers.get(ORGANIZATION_HEADER, "").strip()
    if slug and not _SLUG.fullmatch(slug):
        raise exceptions.PermissionDenied(ERR_NOT_ADMIN, code="not_admin")
    if slug:
        memberships = memberships.filter(organization__slug=slug)
    found = list(memberships[:2])
    if len(found) == 1:
        membership = found[0]
        return ApiTenant(membership.organization, membership.role, user, None)
    if len(found) > 1:
        raise exceptions.PermissionDenied(ERR_PICK_ORGANIZATION, code="organization_required")
    raise exceptions.PermissionDenied(ERR_NOT_ADMIN, code="not_admin")


class IsTenantAdmin(BasePermission):
    """A customer admin (POL-WHO-1): an API key, or a signed-in admin."""

    def has_permission(self, request: Request, view: object) -> bool:
        api_tenant(request)
        return True


class IsGlobalAdmin(BasePermission):
    """Organization settings (API keys, webhooks) are a global admin's task (POL-WHO-2)."""

    def has_permission(self, request: Request, view: object) -> bool:
        if api_tenant(request).role != Role.GLOBAL_ADMIN:
            raise exceptions.PermissionDenied(ERR_GLOBAL_ADMIN_ONLY, code="global_admin_only")
        return True


def request_agent(request: Request) -> User:
    """The member of support staff behind a desk or telephony request (``IsAgent``
    admitted them); anyone else is told the endpoint does not exist."""
    user = request.user
    if not isinstance(user, User) or not user.is_agent:
        raise exceptions.NotFound()
    return user


class IsAgent(BasePermission):
    """Desk and telephony endpoints: support staff (session or agent token). To anyone
    else they do not exist (404), like the desk pages."""

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        if not getattr(user, "is_agent", False):
            raise exceptions.NotFound()
        return True
