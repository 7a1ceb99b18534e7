"""The one home of the second-factor rule (``mfa.policy`` decides, this applies it).

Pages answer with a redirect (to the second step, or to the security page to add a
factor, keeping where the person was going); the API answers 403 in its one error shape.
A request that carries its own bearer credential (an organization's API key, an agent's
token) is the key's, not the session's, and is left to the API's authentication.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.api_errors import error_body
from core.unavailable import database_unavailable
from mfa import policy
from mfa.factors import FactorState, factor_state
from tenants.api_tenancy import ORGANIZATION_HEADER
from tenants.models import User

MSG_ENROL_STAFF = gettext_lazy(
    "Support staff need a second factor. Add an authenticator app or a passkey to continue."
)
MSG_ENROL_ADMIN = gettext_lazy(
    "Your organization requires a second factor of its admins. Add an authenticator app or "
    "a passkey to continue."
)


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            refusal = self._refusal(request)
        except (OperationalError, InterfaceError) as error:
            # The database is away while the rule is checked: answer 503 as every view
            # does (core.unavailable). Never let the request through unchecked.
            unavailable = database_unavailable(request, error)
            if unavailable is None:
                raise
            return unavailable
        return refusal if refusal is not None else self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not isinstance(user, User):
            return None  # nobody signed in
        where = policy.area_of(request.path)
        if where.area is policy.Area.OPEN:
            return None
        if where.is_api and request.headers.get("Authorization", "").startswith("Bearer "):
            return None
        if is_verified(user):
            return None
        state = _factor_state(request, user, where)
        decision = policy.decide(
            where=where,
            verified=False,
            has_factor=state.has_factor,
            staff=policy.is_staff_account(
                staff_role=user.staff_role,
                is_staff=user.is_staff,
                is_superuser=user.is_superuser,
            ),
            organization_requires=state.organization_requires,
        )
        if decision is policy.Decision.PASS:
            return None
        if where.is_api:
            return _api_refusal(decision)
        if decision is policy.Decision.VERIFY:
            return _redirect(request, reverse("mfa:verify"))
        message = MSG_ENROL_STAFF if where.area in policy.STAFF_AREAS else MSG_ENROL_ADMIN
        messages.warning(request, message)
        return _redirect(request, reverse("mfa:security"))


def _factor_state(request: HttpRequest, user: User, where: policy.Where) -> FactorState:
    """The person's factors, and whether the organization the request acts for requires
    one of its admins. An API request with a session acts for the organization in its
    ``X-Organization`` header, or for the one the person administers
    (``tenants.api_tenancy``): without the header, any organization of theirs that
    requires it counts, so the API is no way around the portal's requirement."""
    if where.area is not policy.Area.API:
        return factor_state(user, where.organization_slug)
    named = request.headers.get(ORGANIZATION_HEADER, "").strip()
    return factor_state(user, named, any_organization=not named)


def is_verified(user: User) -> bool:
    """Whether this session passed a second factor (set by django-otp's OTPMiddleware)."""
    check = getattr(user, "is_verified", None)
    return bool(check()) if callable(check) else False


def _api_refusal(decision: policy.Decision) -> JsonResponse:
    if decision is policy.Decision.VERIFY:
        body = error_body(
            "second_factor_required",
            _("Confirm it is you with your second factor first (/accounts/verify/)."),
        )
    else:
        body = error_body(
            "second_factor_not_enrolled",
            _("Add a second factor on your security page (/accounts/security/) first."),
        )
    return JsonResponse(body, status=403)


def _redirect(request: HttpRequest, to: str) -> HttpResponse:
    target = f"{to}?{urlencode({'next': request.get_full_path()})}"
    if request.headers.get("HX-Request") == "true":
        # An htmx fragment request: the whole page goes, not a fragment swapped in.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)
