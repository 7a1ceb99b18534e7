"""Second factors: TOTP authenticator apps, passkeys and recovery codes (issue 17).

Built on django-otp (``django_otp.plugins.otp_totp`` for authenticator apps,
``django_otp.plugins.otp_static`` for recovery codes) and django-otp-webauthn (passkeys).
Chosen over django-allauth's MFA because it adds a second step and changes nothing else:
Django's own sign-in and password-reset views stay, and so does django-axes' lockout per
normalised account (``tenants.signin``) on the password step. Each factor is a Django
model, visible in the admin. Single sign-on is a separate concern
(mozilla-django-oidc), not part of this app.

The rule lives in one place, ``mfa.middleware``: provider staff (agents, supervisors,
admin-site users and superusers) must have a factor and have passed it in this session
before the desk, the desk's API or the Django admin; customers choose, except that an
organization's global admin can require it of the organization's admins. Anyone who
has a factor passes it before anything else.
"""
