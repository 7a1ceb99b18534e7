"""Second factors in tests: staff sign in as enrolled, verified people (mfa.middleware
is never relaxed for tests), and tests can compute an authenticator app's code.

``tests.django_plugin`` makes ``Client.force_login`` finish the second step for anyone
who has a factor, giving provider staff an authenticator app first; the browser tier's
``sign_in`` types a code computed here. ``force_login_password_only`` is the plain
password step, for tests of the second step itself.
"""

from __future__ import annotations

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from mfa import policy
from mfa.factors import factor_state
from tenants.models import User

# Captured before the plugin replaces it.
force_login_password_only = Client.force_login

# A fixed key (hex) for the apps tests give people, so a failing test can be replayed.
TEST_APP_KEY = "3132333435363738393031323334353637383930"


def is_staff(user: User) -> bool:
    return policy.is_staff_account(
        staff_role=user.staff_role, is_staff=user.is_staff, is_superuser=user.is_superuser
    )


def give_app(user: User, key: str = TEST_APP_KEY) -> TOTPDevice:
    """The person's authenticator app (added if they have none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test phone", key=key, confirmed=True)
    return device


def app_code(device: TOTPDevice) -> str:
    """A code the app shows now that the device has not accepted yet (django-otp refuses a
    code twice): the current step's, else the next one's, which it tolerates."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    step = totp.t()
    if device.last_t >= step:
        if device.last_t >= step + device.tolerance:
            time.sleep(device.step - (totp.time - device.t0) % device.step + 0.1)
            return app_code(device)
        totp.time += device.step * (device.last_t + 1 - step)
    return f"{totp.token():06d}"


def complete_second_step(client: Client, user: User) -> None:
    """What the person would do after the password: staff have an app (given one if
    needed); anyone with a factor passes it in this session."""
    if is_staff(user):
        give_app(user)
    if not factor_state(user).has_factor:
        return
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        return  # a passkey or recovery codes only: the test passes the step itself
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
