"""The second step of signing in (``/accounts/verify/``) and the security page
(``/accounts/security/``) where every signed-in person manages their factors. Thin:
the rules are ``mfa.services``; who must do what is ``mfa.middleware``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from core.refusals import into_form, into_messages
from mfa import factors, services
from mfa.forms import AppForm, CodeForm, PasswordForm
from mfa.middleware import is_verified
from tenants.access import signed_in_user

# The key of an authenticator app being added, until a code from it confirms it.
PENDING_APP_KEY = "mfa_pending_app_key"


def safe_next(request: HttpRequest) -> str:
    """Where to go afterwards: the ``next`` asked for when it stays on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A control character would make the Location header invalid (a 500), not a redirect.
    if (
        target
        and target.isprintable()
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return ""


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step: a code from an authenticator app, a recovery code, or a passkey."""
    user = signed_in_user(request)
    # A URL, never a view name: redirect() would try to reverse a ``next`` with no slash
    # or dot in it ("desk") as one, and fail with a 500.
    next_url = safe_next(request) or resolve_url(settings.LOGIN_REDIRECT_URL)
    if is_verified(user) or not factors.factor_state(user).has_factor:
        return HttpResponseRedirect(next_url)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with into_form(form, field="code"):
            device = services.second_factor_check(
                user=user, code=form.cleaned_data["code"], now=timezone.now()
            )
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(
                    request,
                    _(
                        "You used a recovery code; %(left)s are left. Generate new ones on "
                        "your security page if you are running out."
                    )
                    % {"left": left},
                )
            return HttpResponseRedirect(next_url)
    return render(
        request,
        "mfa/verify.html",
        {
            "form": form,
            "next": next_url,
            "has_app": bool(factors.authenticator_apps(user)),
            "has_passkey": bool(factors.passkeys(user)),
        },
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
@require_http_methods(["GET"])
def security(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    return render(
        request,
        "mfa/security.html",
        {
            "apps": factors.authenticator_apps(user),
            "passkeys": factors.passkeys(user),
            "recovery_devices": list(StaticDevice.objects.filter(user=user, confirmed=True)),
            "recovery_left": factors.recovery_codes_left(user),
            "has_primary": factors.has_primary_factor(user),
            "next": safe_next(request),
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def app_add(request: HttpRequest) -> HttpResponse:
    """Add an authenticator app: scan the code (or type the key), confirm with a code."""
    user = signed_in_user(request)
    key = request.session.get(PENDING_APP_KEY)
    if not key or (request.method == "GET" and "again" in request.GET):
        key = services.new_app_key()
        request.session[PENDING_APP_KEY] = key
    form = AppForm(request.POST or None)
    next_url = safe_next(request)
    if request.method == "POST" and form.is_valid():
        with into_form(form, field="code"):
            device = services.app_add(
                user=user,
                key_hex=key,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                now=timezone.now(),
            )
            del request.session[PENDING_APP_KEY]
            if not is_verified(user):
                otp_login(request, device)
            messages.success(
                request,
                _(
                    "Authenticator app added. Generate recovery codes too, in case you lose "
                    "your phone."
                ),
            )
            return redirect(_with_next(reverse("mfa:security"), next_url))
    return render(
        request,
        "mfa/app_add.html",
        {
            "form": form,
            "setup": services.app_setup(user=user, key_hex=key),
            "next": next_url,
        },
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """A new set of recovery codes, shown on this page once."""
    user = signed_in_user(request)
    with into_messages(request):
        codes = services.recovery_codes_generate(user=user, now=timezone.now())
        return render(
            request, "mfa/recovery_codes.html", {"codes": codes, "next": safe_next(request)}
        )
    return redirect("mfa:security")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def factor_remove(request: HttpRequest, kind: str, factor: int) -> HttpResponse:
    """Remove one factor, after the password again."""
    user = signed_in_user(request)
    found = services.factor_of(user, kind, factor)
    if found is None:
        raise Http404
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with into_form(form, field="password"):
            services.factor_remove(
                user=user,
                kind=kind,
                factor_id=found.pk,
                password=form.cleaned_data["password"],
                now=timezone.now(),
            )
            messages.success(request, _("%(name)s was removed.") % {"name": found.name})
            return redirect("mfa:security")
    return render(
        request,
        "mfa/factor_remove.html",
        {"form": form, "factor": found, "kind": kind},
        status=400 if form.errors else 200,
    )
