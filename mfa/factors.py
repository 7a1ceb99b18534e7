"""Reading a person's second factors (the writes are ``mfa.services``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Value
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from tenants.models import Membership, Role, User


@dataclass(frozen=True)
class FactorState:
    has_factor: bool
    organization_requires: bool


def factor_state(
    user: User, organization_slug: str = "", *, any_organization: bool = False
) -> FactorState:
    """In one query: whether ``user`` has a confirmed factor (an app, a passkey or unused
    recovery codes), and whether the organization of ``organization_slug`` (with
    ``any_organization``: any of theirs) requires a second factor of its admins and
    ``user`` is one of them."""
    mine = {"user": OuterRef("pk"), "confirmed": True}
    admin_of_requiring = Membership.objects.filter(
        user=OuterRef("pk"),
        organization__mfa_required_for_admins=True,
        role__in=Role.admin_roles(),
    )
    requires = (
        Exists(admin_of_requiring.filter(organization__slug=organization_slug))
        if organization_slug
        else Exists(admin_of_requiring)
        if any_organization
        else Value(False)
    )
    row = (
        User.objects.filter(pk=user.pk)
        .annotate(
            totp=Exists(TOTPDevice.objects.filter(**mine)),
            passkey=Exists(WebAuthnCredential.objects.filter(**mine)),
            codes=Exists(StaticDevice.objects.filter(**mine, token_set__isnull=False)),
            requires=requires,
        )
        .values_list("totp", "passkey", "codes", "requires")
        .first()
    )
    if row is None:
        return FactorState(has_factor=False, organization_requires=False)
    totp, passkey, codes, required = row
    return FactorState(has_factor=bool(totp or passkey or codes), organization_requires=required)


def authenticator_apps(user: User) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"))


def passkeys(user: User) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("pk"))


def recovery_codes_left(user: User) -> int:
    return sum(
        device.token_set.count()
        for device in StaticDevice.objects.filter(user=user, confirmed=True)
    )


def has_primary_factor(user: User) -> bool:
    """An app or a passkey: what recovery codes stand in for."""
    return bool(
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    )
