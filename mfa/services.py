"""Every change to a person's second factors, each with its audit row in the same
transaction (``audit.services.record``).

Throttling is django-otp's own: after n wrong codes in a row a factor refuses every code
for 2**(n-1) seconds (``OTP_*_THROTTLE_FACTOR``). The failures are written outside any
transaction a refusal would roll back, so they count.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import segno
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex
from django_otp_webauthn.models import WebAuthnCredential

from audit import services as audit
from audit.actions import Action
from core.refusals import Refused
from mfa.factors import has_primary_factor
from tenants.models import Membership, Organization, User

ERR_WRONG_CODE = _(
    "That code is not right. Type the newest code from your authenticator app, or one of "
    "your recovery codes."
)
ERR_WRONG_SETUP_CODE = _(
    "That code is not right. Check that your phone's clock is set automatically, and type "
    "the newest code."
)
ERR_THROTTLED = _(
    "Too many wrong codes in a row. Wait %(seconds)s seconds, then try the newest code."
)
ERR_WRONG_PASSWORD = _("That password is not right.")
ERR_PASSWORD_THROTTLED = _("Too many wrong passwords. Try again in %(minutes)s minutes.")
ERR_NO_PRIMARY_FACTOR = _(
    "Add an authenticator app or a passkey first: recovery codes stand in for one of them."
)
ERR_FACTOR_GONE = _("That factor no longer exists.")

_SIX_DIGITS = re.compile(r"[0-9]{6}")

RECOVERY_CODE_COUNT = 10
# Lower-case letters and digits without the easily confused ones (0/o, 1/l/i).
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
RECOVERY_DEVICE_NAME = "Recovery codes"

# Removing a factor asks for the password again; this many wrong ones in the window stop
# further tries for the rest of it.
PASSWORD_TRIES = 5
PASSWORD_WINDOW_SECONDS = 15 * 60


class FactorKind:
    APP = "app"
    PASSKEY = "passkey"
    RECOVERY_CODES = "recovery-codes"


class SecondFactorError(Refused):
    """A refused second-factor change or check."""


def _organization(user: User) -> Organization | None:
    """The organization whose audit trail shows a customer's factor changes: their only
    one. Staff, and people in several organizations, are recorded without one."""
    memberships = list(Membership.objects.filter(user=user).select_related("organization")[:2])
    return memberships[0].organization if len(memberships) == 1 else None


def _record(*, action: str, user: User, target: Any, now: datetime, **values: Any) -> None:
    audit.record(
        action=action,
        actor=user,
        organization=_organization(user),
        target=target,
        target_label=str(user.email),
        now=now,
        **values,
    )


# --- Authenticator apps (TOTP) -------------------------------------------------------------


@dataclass(frozen=True)
class AppSetup:
    """What a person needs to add an authenticator app: the QR code and the key in text."""

    uri: str
    secret: str  # base32, grouped by four for typing
    qr_svg: str


def new_app_key() -> str:
    """A fresh 160-bit TOTP key (hex), kept in the session until it is confirmed."""
    return str(random_hex(20))


def app_setup(*, user: User, key_hex: str) -> AppSetup:
    secret = base64.b32encode(bytes.fromhex(key_hex)).decode("ascii").rstrip("=")
    issuer = str(settings.OTP_TOTP_ISSUER)
    label = quote(f"{issuer}:{user.email}")
    query = urlencode({"secret": secret, "issuer": issuer, "digits": 6, "period": 30})
    uri = f"otpauth://totp/{label}?{query}"
    # Drawn here as SVG: no script, no image request, nothing fetched from elsewhere.
    svg = str(segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#111", light="#fff"))
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return AppSetup(uri=uri, secret=grouped, qr_svg=svg)


def _digits(code: str) -> int | None:
    """The six digits of an app's code, or None. Full-width digits (typed with an East
    Asian keyboard) read as their ASCII ones; anything else Python calls a digit (a
    superscript ², a circled ①) int() cannot read, so ``isdigit`` is no test here."""
    cleaned = unicodedata.normalize("NFKC", code).replace(" ", "").replace("-", "")
    if not _SIX_DIGITS.fullmatch(cleaned):
        return None
    return int(cleaned)


@transaction.atomic
def app_add(*, user: User, key_hex: str, code: str, name: str, now: datetime) -> TOTPDevice:
    """Confirm a new authenticator app with a code it shows, and keep it."""
    token = _digits(code)
    totp = TOTP(bytes.fromhex(key_hex))
    totp.time = now.timestamp()
    if token is None or not totp.verify(token, tolerance=1):
        raise SecondFactorError(ERR_WRONG_SETUP_CODE, field="code")
    device = TOTPDevice.objects.create(
        user=user,
        name=name or str(_("Authenticator app")),
        key=key_hex,
        confirmed=True,
        # The code just typed may not be used again to sign in.
        last_t=totp.t(),
    )
    _record(
        action=Action.MFA_ADDED,
        user=user,
        target=device,
        after={"kind": FactorKind.APP, "name": device.name},
        now=now,
    )
    return device


# --- Passkeys ------------------------------------------------------------------------------


@transaction.atomic
def passkey_add(
    *, user: User, helper: Any, state: dict[str, Any], data: dict[str, Any], now: datetime
) -> WebAuthnCredential:
    """Keep the passkey the browser just created (checked by django-otp-webauthn)."""
    device: WebAuthnCredential = helper.register_complete(user=user, state=state, data=data)
    _record(
        action=Action.MFA_ADDED,
        user=user,
        target=device,
        after={"kind": FactorKind.PASSKEY, "name": device.name},
        now=now,
    )
    return device


# --- Recovery codes ------------------------------------------------------------------------


def _normalised_recovery(code: str) -> str:
    return code.replace(" ", "").replace("-", "").lower()


def recovery_code_display(token: str) -> str:
    half = len(token) // 2
    return f"{token[:half]}-{token[half:]}"


@transaction.atomic
def recovery_codes_generate(*, user: User, now: datetime) -> list[str]:
    """A new set of single-use recovery codes, replacing any earlier set. The codes are
    returned to be shown once; only a person holding them can use them afterwards."""
    if not has_primary_factor(user):
        raise SecondFactorError(ERR_NO_PRIMARY_FACTOR, code="no_primary_factor")
    device = (
        StaticDevice.objects.select_for_update()
        .filter(user=user, name=RECOVERY_DEVICE_NAME)
        .first()
    ) or StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    replaced = device.token_set.count()
    device.token_set.all().delete()
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    device.confirmed = True
    device.throttle_reset(commit=False)
    device.save()
    _record(
        action=Action.MFA_RECOVERY_CODES,
        user=user,
        target=device,
        before={"codes_left": replaced},
        after={"codes": len(codes)},
        now=now,
    )
    return [recovery_code_display(code) for code in codes]


# --- The second step of signing in -----------------------------------------------------------


def _locked_for(device: Device, now: datetime) -> int | None:
    """Seconds this factor still refuses every code, or None when it listens."""
    allowed, info = device.verify_is_allowed()
    if allowed:
        return None
    until = (info or {}).get("locked_until")
    return max(1, math.ceil((until - now).total_seconds())) if until else 1


def second_factor_check(*, user: User, code: str, now: datetime) -> Device:
    """The factor that accepts ``code`` (an authenticator app's code, or a recovery code,
    which is then used up); refused when none does or all are locked for now."""
    candidates: list[Device] = []
    token = _digits(code)
    if token is not None:
        candidates += list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"))
    recovery = _normalised_recovery(code)
    if recovery and token is None:
        candidates += list(StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk"))
    waits: list[int] = []
    for device in candidates:
        wait = _locked_for(device, now)
        if wait is not None:
            waits.append(wait)
            continue
        # Commits whatever happens: a wrong code's count must survive the refusal below.
        with transaction.atomic():
            if isinstance(device, StaticDevice):
                accepted = device.verify_token(recovery)
                if accepted:
                    _record(
                        action=Action.MFA_RECOVERY_USED,
                        user=user,
                        target=device,
                        after={"codes_left": device.token_set.count()},
                        now=now,
                    )
            else:
                accepted = device.verify_token(token)
        if accepted:
            return device
    if waits and len(waits) == len(candidates):
        raise SecondFactorError(
            ERR_THROTTLED % {"seconds": min(waits)}, code="throttled", field="code"
        )
    raise SecondFactorError(ERR_WRONG_CODE, field="code")


# --- Removing a factor -----------------------------------------------------------------------


def _password_key(user: User) -> str:
    return f"mfa:remove-password:{user.pk}"


def _check_password(user: User, password: str) -> None:
    key = _password_key(user)
    failures = int(cache.get(key) or 0)
    if failures >= PASSWORD_TRIES:
        raise SecondFactorError(
            ERR_PASSWORD_THROTTLED % {"minutes": PASSWORD_WINDOW_SECONDS // 60},
            code="throttled",
            field="password",
        )
    if not user.check_password(password):
        cache.set(key, failures + 1, PASSWORD_WINDOW_SECONDS)
        raise SecondFactorError(ERR_WRONG_PASSWORD, field="password")
    cache.delete(key)


def factor_of(user: User, kind: str, factor_id: int) -> Device | None:
    """One of ``user``'s own factors, or None (anyone else's id too)."""
    if not 0 < factor_id < 2**63:
        return None
    model: type[Device] | None = {
        FactorKind.APP: TOTPDevice,
        FactorKind.PASSKEY: WebAuthnCredential,
        FactorKind.RECOVERY_CODES: StaticDevice,
    }.get(kind)
    if model is None:
        return None
    return model.objects.filter(user=user, pk=factor_id).first()


@transaction.atomic
def factor_remove(*, user: User, kind: str, factor_id: int, password: str, now: datetime) -> Device:
    """Remove one of the person's factors after they typed their password again. With the
    last app or passkey gone, the recovery codes go too: they stood in for it."""
    _check_password(user, password)
    device = factor_of(user, kind, factor_id)
    if device is None:
        raise SecondFactorError(ERR_FACTOR_GONE, code="not_found")
    name = device.name
    device.delete()
    recovery_removed = 0
    if kind != FactorKind.RECOVERY_CODES and not has_primary_factor(user):
        recovery_removed, _ = StaticDevice.objects.filter(user=user).delete()
    _record(
        action=Action.MFA_REMOVED,
        user=user,
        target=None,
        before={"kind": kind, "name": name},
        after={"recovery_codes_removed": bool(recovery_removed)},
        now=now,
    )
    return device


# --- Provider staff: removing someone else's factors (the Django admin) ----------------------

ERR_OWN_FACTORS = _(
    "Your own second factors are changed on your security page, where your password is asked again."
)
ERR_RESET_SUPERUSER = _("Only a superuser can reset a superuser's second factors.")


def factor_kind(device: Device) -> str:
    if isinstance(device, WebAuthnCredential):
        return FactorKind.PASSKEY
    if isinstance(device, StaticDevice):
        return FactorKind.RECOVERY_CODES
    return FactorKind.APP


def _check_staff_may_change(*, staff: User, owner: User) -> None:
    # A signed-in admin removing their own factor would skip the password the security
    # page asks for; resetting oneself is no way back for anybody.
    if staff.pk == owner.pk:
        raise SecondFactorError(ERR_OWN_FACTORS, code="own_factors")
    if owner.is_superuser and not staff.is_superuser:
        raise SecondFactorError(ERR_RESET_SUPERUSER, code="superuser")


def _record_by_staff(
    *, staff: User, owner: User, before: dict[str, Any], after: dict[str, Any],
    channel: str | None, now: datetime,
) -> None:  # fmt: skip
    audit.record(
        action=Action.MFA_REMOVED,
        actor=staff,
        organization=_organization(owner),
        target=owner,
        target_label=str(owner.email),
        before=before,
        after=after,
        channel=channel,
        now=now,
    )


@transaction.atomic
def factor_remove_by_staff(
    *, staff: User, device: Device, now: datetime, channel: str | None = None
) -> None:
    """Provider staff remove one of another person's factors. As on the security page,
    the recovery codes go with the last app or passkey."""
    owner: User = device.user
    _check_staff_may_change(staff=staff, owner=owner)
    kind, name = factor_kind(device), device.name
    device.delete()
    recovery_removed = 0
    if kind != FactorKind.RECOVERY_CODES and not has_primary_factor(owner):
        recovery_removed, _ = StaticDevice.objects.filter(user=owner).delete()
    _record_by_staff(
        staff=staff,
        owner=owner,
        before={"kind": kind, "name": name},
        after={"recovery_codes_removed": bool(recovery_removed)},
        channel=channel,
        now=now,
    )


@transaction.atomic
def factors_reset(*, staff: User, user: User, now: datetime, channel: str | None = None) -> int:
    """Provider staff remove every second factor of a person who lost theirs: one audit
    row per factor. Staff are then asked to enrol again when they next sign in
    (``mfa.middleware``). Returns how many factors were removed."""
    _check_staff_may_change(staff=staff, owner=user)
    devices: list[Device] = [
        *TOTPDevice.objects.select_for_update().filter(user=user).order_by("pk"),
        *WebAuthnCredential.objects.select_for_update().filter(user=user).order_by("pk"),
        *StaticDevice.objects.select_for_update().filter(user=user).order_by("pk"),
    ]
    for device in devices:
        kind, name = factor_kind(device), device.name
        device.delete()
        _record_by_staff(
            staff=staff,
            owner=user,
            before={"kind": kind, "name": name},
            after={"reset": True},
            channel=channel,
            now=now,
        )
    return len(devices)
