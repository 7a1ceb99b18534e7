"""Passkeys in the Django admin: django-otp-webauthn ships the admin class but leaves
registering it to the project (its model may be swapped). Apps and recovery codes are
registered by django-otp's plugins."""

from django.contrib import admin
from django_otp_webauthn.admin import WebAuthnCredentialAdmin
from django_otp_webauthn.models import WebAuthnCredential

admin.site.register(WebAuthnCredential, WebAuthnCredentialAdmin)
