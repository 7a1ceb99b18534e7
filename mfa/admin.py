"""Second factors in the Django admin: to look at, to remove, and to reset.

A factor is only ever added by its owner on their security page (the app's code or the
passkey's signature proves they hold it), so these admins offer no add or change form;
keys, secrets and recovery codes stay hidden (``OTP_ADMIN_HIDE_SENSITIVE_DATA``).
Removing one, alone or in bulk, goes through ``mfa.services`` and leaves its audit row.
On the user admin, "Reset second factors" removes all of a person's factors, for staff
who lost theirs (they are asked to enrol again when they next sign in).

django-otp registers its apps' and recovery codes' admins itself; they are replaced here.
django-otp-webauthn ships its admin class but leaves registering it to the project.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.models import Device
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.admin import WebAuthnCredentialAdmin
from django_otp_webauthn.models import WebAuthnCredential

from audit.actions import Channel
from core.admin import ServiceAdminMixin
from mfa import services
from tenants.access import signed_in_user
from tenants.admin import UserAdmin as TenantsUserAdmin
from tenants.models import User


class FactorAdminMixin(ServiceAdminMixin):
    """View and delete only; every delete through ``mfa.services``."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Device) -> None:
        services.factor_remove_by_staff(
            staff=signed_in_user(request), device=obj, now=timezone.now(), channel=Channel.ADMIN
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # One by one: each removal has its audit row. Removing the last app or passkey
        # takes the recovery codes with it, so a selected set may already be gone.
        for device in queryset.order_by("pk"):
            if type(device).objects.filter(pk=device.pk).exists():
                self.delete_model(request, device)


class FactorTOTPDeviceAdmin(FactorAdminMixin, TOTPDeviceAdmin):
    pass


class FactorStaticDeviceAdmin(FactorAdminMixin, StaticDeviceAdmin):
    pass


class FactorWebAuthnCredentialAdmin(FactorAdminMixin, WebAuthnCredentialAdmin):
    pass


for model, model_admin in (
    (TOTPDevice, FactorTOTPDeviceAdmin),
    (StaticDevice, FactorStaticDeviceAdmin),
    (WebAuthnCredential, FactorWebAuthnCredentialAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)


class UserAdmin(TenantsUserAdmin):
    actions = ("reset_second_factors",)

    @admin.action(description=_("Reset second factors"), permissions=["change"])
    def reset_second_factors(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        staff = signed_in_user(request)
        now = timezone.now()
        # All or nothing (ServiceAdminMixin): a refusal for one person undoes the others.
        removed = sum(
            services.factors_reset(staff=staff, user=user, now=now, channel=Channel.ADMIN)
            for user in queryset.order_by("pk")
        )
        message = ngettext(
            "%(count)d second factor removed. Staff among them add a new one when they "
            "next sign in.",
            "%(count)d second factors removed. Staff among them add a new one when they "
            "next sign in.",
            removed,
        ) % {"count": removed}
        self.message_user(request, message, messages.SUCCESS)


admin.site.unregister(User)
admin.site.register(User, UserAdmin)
