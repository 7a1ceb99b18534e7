"""Second factors in a real browser: an agent adds an authenticator app and signs in with
a code computed in the test; a passkey is registered and used with Chromium's virtual
authenticator (the WebAuthn domain of the DevTools protocol)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.actions import Action
from audit.models import AuditEntry
from tests.conftest import World
from tests.e2e.conftest import sign_in, sign_in_with_password
from tests.factories import AgentFactory
from tests.mfa_support import app_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


def shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_out(page: object) -> None:
    page.get_by_role("button", name="Sign out").click()  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]


def test_an_agent_adds_an_app_then_signs_in_with_its_code(world: World, page: object) -> None:
    ticket = world.file(title="Printer queue is stuck")
    agent = AgentFactory(email="new-agent@provider.test")
    sign_in_with_password(page, agent.email)
    # Staff without a factor are sent to add one before the desk.
    assert "/accounts/security/" in page.url  # type: ignore[attr-defined]
    assert page.get_by_text("Support staff need a second factor").is_visible()  # type: ignore[attr-defined]
    page.get_by_role("link", name="Add an authenticator app").click()  # type: ignore[attr-defined]
    assert page.locator(".qr-code svg").is_visible()  # type: ignore[attr-defined]
    shot(page, "mfa-add-app")
    # What a phone would do: read the key, compute the code.
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")  # type: ignore[attr-defined]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code from the app").fill(f"{TOTP(key).token():06d}")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Add the app").click()  # type: ignore[attr-defined]
    assert page.get_by_text("Authenticator app added.").is_visible()  # type: ignore[attr-defined]
    assert AuditEntry.objects.filter(action=Action.MFA_ADDED, actor=agent).count() == 1
    page.get_by_role("link", name="Continue").click()  # type: ignore[attr-defined]
    assert page.url.endswith("/desk/")  # type: ignore[attr-defined]
    assert page.get_by_text(ticket.title).is_visible()  # type: ignore[attr-defined]

    sign_out(page)
    sign_in_with_password(page, agent.email)
    assert "/accounts/verify/" in page.url  # type: ignore[attr-defined]
    shot(page, "mfa-verify")
    page.locator("input[name=code]").fill("000000")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Confirm").click()  # type: ignore[attr-defined]
    assert page.get_by_text("That code is not right.").is_visible()  # type: ignore[attr-defined]
    assert "/accounts/verify/" in page.url  # type: ignore[attr-defined]
    # The lock after one wrong code lasts a second.
    page.wait_for_timeout(1100)  # type: ignore[attr-defined]
    device = TOTPDevice.objects.get(user=agent)
    page.locator("input[name=code]").fill(app_code(device))  # type: ignore[attr-defined]
    page.get_by_role("button", name="Confirm").click()  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    assert page.url.endswith("/desk/")  # type: ignore[attr-defined]


def _virtual_authenticator(page: object) -> tuple[object, str]:
    cdp = page.context.new_cdp_session(page)  # type: ignore[attr-defined]
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_a_passkey_is_registered_and_signs_in(world: World, page: object) -> None:
    cdp, authenticator = _virtual_authenticator(page)
    sign_in(page, world.agent.email)
    page.goto("/accounts/security/")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Add a passkey").click()  # type: ignore[attr-defined]
    # The page shows itself again with the new passkey listed.
    page.locator("section[aria-labelledby=passkeys-title] li").wait_for()  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    passkey = WebAuthnCredential.objects.get(user=world.agent)
    assert passkey.name == "Passkey 1"
    assert page.get_by_role("link", name="Remove Passkey 1").is_visible()  # type: ignore[attr-defined]
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})  # type: ignore[attr-defined]
    assert len(credentials["credentials"]) == 1
    row = AuditEntry.objects.get(action=Action.MFA_ADDED, actor=world.agent)
    assert row.after["kind"] == "passkey"
    shot(page, "mfa-security-passkey")

    sign_out(page)
    sign_in_with_password(page, world.agent.email)
    page.goto("/desk/tickets/")  # type: ignore[attr-defined]
    assert "/accounts/verify/" in page.url  # type: ignore[attr-defined]
    page.get_by_role("button", name="Use a passkey").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/desk/tickets/")  # type: ignore[attr-defined]
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
