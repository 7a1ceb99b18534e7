"""The one way views reach the acting organization (DESIGN.md "Tenancy").

Portal routes carry the organization's slug; the acting user must be a member.
A stranger's slug and another tenant's ids both answer 404, so a probe learns
nothing about which organizations or tickets exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, TypeGuard, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django_htmx.middleware import HtmxDetails

from tenants.models import Membership, Organization, Role, User
from tenants.zones import zone_for


def organization_admins(organization: Organization) -> list[Membership]:
    """The admins a member can turn to (POL-WHO-1): global admins first, then by name."""
    order: dict[str, int] = {role: rank for rank, role in enumerate(ADMIN_ROLE_ORDER)}
    admins = (
        Membership.objects.filter(
            organization=organization, role__in=ADMIN_ROLE_ORDER, user__is_active=True
        )
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return sorted(admins, key=lambda m: order[m.role])


# Whom to ask first: the global admins may do everything (POL-WHO-2).
ADMIN_ROLE_ORDER = (Role.GLOBAL_ADMIN, Role.SERVICE_SUPPORT_ADMIN, Role.BILLING_ADMIN)


class TenantRequest(HttpRequest):
    """An HttpRequest after ``tenant_view`` resolved who acts for which organization."""

    user: User
    organization: Organization
    membership: Membership
    htmx: HtmxDetails  # set on every request by django_htmx's middleware


class AgentRequest(HttpRequest):
    """An HttpRequest after ``desk_view`` (or ``supervisor_view``) found a signed-in,
    active member of the provider's staff acting."""

    user: User
    htmx: HtmxDetails  # set on every request by django_htmx's middleware


def is_agent_request(request: HttpRequest) -> TypeGuard[AgentRequest]:
    """Whether provider staff who work the desk (agents and supervisors) act."""
    return isinstance(request.user, User) and request.user.is_agent


def signed_in_user(request: HttpRequest) -> User:
    """The person behind a request that a sign-in guard let through (``login_required``,
    the admin site): a User, never the anonymous one."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def _mark(view: Callable[..., HttpResponseBase], **markers: bool) -> None:
    """Label a guarded view for the route walk (tests/test_route_walk.py), which checks
    that every portal and desk route sits behind its guard."""
    vars(view).update(markers)


def acting_membership(user: User | AnonymousUser, org_slug: str) -> Membership:
    """The user's membership of the organization named in the URL, or 404."""
    if not isinstance(user, User):
        raise Http404
    membership = (
        Membership.objects.select_related("organization", "organization__partner")
        .filter(organization__slug=org_slug, user=user, user__is_active=True)
        .first()
    )
    if membership is None:
        raise Http404
    return membership


type TenantViewFunc = Callable[Concatenate[TenantRequest, ...], HttpResponseBase]


def tenant_view(*, admin_only: bool) -> Callable[[TenantViewFunc], Callable[..., HttpResponseBase]]:
    """Resolve ``org`` from the URL and attach it to the request.

    ``admin_only`` routes show plain users the "ask your admin" page (POL-WHO-1),
    never a bare 403; self-help routes stay open to every member (POL-SELF-3).
    """

    def decorator(view: TenantViewFunc) -> Callable[..., HttpResponseBase]:
        @login_required
        @wraps(view)
        def wrapper(
            request: HttpRequest, org: str, *args: object, **kwargs: object
        ) -> HttpResponseBase:
            membership = acting_membership(request.user, org)
            # The request becomes a TenantRequest here: the next lines set what it adds.
            tenant_request = cast(TenantRequest, request)
            tenant_request.membership = membership
            tenant_request.organization = membership.organization
            # Portal times read in the person's own zone, else the organization's; reset
            # afterwards because the active zone is thread-local and the thread serves the
            # next request too.
            timezone.activate(zone_for(request.user, organization=membership.organization))
            try:
                if admin_only and not membership.is_admin:
                    return render(
                        request,
                        "portal/ask_admin.html",
                        {
                            "organization": membership.organization,
                            "membership": membership,
                            "admins": organization_admins(membership.organization),
                        },
                    )
                return view(tenant_request, *args, **kwargs)
            finally:
                timezone.deactivate()

        _mark(wrapper, tenant_route=True, admin_only=admin_only)
        return wrapper

    return decorator


def desk_view[**P](
    view: Callable[Concatenate[AgentRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Desk routes are for provider staff; to anyone else they do not exist."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not is_agent_request(request):
            raise Http404
        return view(request, *args, **kwargs)

    _mark(wrapper, desk_route=True)
    return wrapper


def supervisor_view[**P](
    view: Callable[Concatenate[AgentRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """Reports are for supervisors; to anyone else they do not exist."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not (is_agent_request(request) and request.user.is_supervisor):
            raise Http404
        return view(request, *args, **kwargs)

    _mark(wrapper, desk_route=True)
    return wrapper
