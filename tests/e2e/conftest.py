"""Browser tier: Playwright driving Debian's Chromium against pytest-django's live server.

Chromium comes from the system (``apt-get install chromium``), never from
``playwright install``; the flags keep it off the network. Locally the tier skips with a
reason when Chromium is missing; in CI (``SUPPORTDESK_CI=1``) it fails instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.factories import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests
# make between browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _unavailable(reason: str) -> None:
    if os.environ.get("SUPPORTDESK_CI") == "1":
        pytest.fail(f"browser tests must run in CI: {reason}")
    pytest.skip(reason)


# Module scope: Playwright's greenlets change which connection object Django hands the
# test code, so the browser must not outlive the modules that need it.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object, live_server: object, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=live_server.url,  # type: ignore[attr-defined]
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    # The Content Security Policy is strict (no inline script or style): a page that
    # breaks it fails the test that opened it, with the browser's own words.
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    # A test may name a violation it expects: the policy blocking a third-party fetch that
    # a vendored library attempts (Redoc's logo from its CDN) is the policy working.
    marker = request.node.get_closest_marker("csp_allow")
    allowed = marker.args if marker else ()
    unexpected = [v for v in violations if not any(text in v for text in allowed)]
    assert not unexpected, "CSP violations:\n" + "\n".join(unexpected)


def sign_in(page: object, email: str, password: str = PASSWORD) -> None:
    """Both steps, as a person would: the password, then (staff always, anyone else who
    has one) an authenticator app's code, computed here from the app's key. Staff get an
    app first if they have none (tests.mfa_support)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tenants.models import User
    from tests.mfa_support import app_code, give_app, is_staff

    user = User.objects.filter(email=email.strip().lower()).first()
    if user is not None and is_staff(user):
        give_app(user)
    sign_in_with_password(page, email, password)
    if user is None or "/accounts/verify/" not in page.url:  # type: ignore[attr-defined]
        return
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        return  # a passkey only: the test passes the second step itself
    page.locator("input[name=code]").fill(app_code(device))  # type: ignore[attr-defined]
    page.get_by_role("button", name="Confirm").click()  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]


def sign_in_with_password(page: object, email: str, password: str = PASSWORD) -> None:
    """The first step only."""
    page.goto("/accounts/login/")  # type: ignore[attr-defined]
    page.get_by_label("E-mail").fill(email)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in", exact=True).click()  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
