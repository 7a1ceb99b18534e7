"""Single sign-on and its sign-out in a real browser, against the real OpenID provider of
tests/sso/conftest.py: the Sign out button's answer redirects to the provider's
end-session endpoint, which browsers hold to the page's form-action policy, and the
provider sends the browser back to the sign-in page with its own session ended."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils.csp import CSP

from audit.actions import Action
from audit.models import AuditEntry
from tests.factories import AgentFactory
from tests.mfa_support import app_code, give_app
from tests.sso.conftest import (
    PROVIDER_PASSWORD,
    STAFF,
    Provider,
    configure_site,
    running_provider,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("oidc"),
]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory, live_server: object) -> Iterator[Provider]:
    site = str(live_server.url)  # type: ignore[attr-defined]
    with running_provider(
        tmp_path_factory.mktemp("oidc-provider"),
        redirect_uri=f"{site}/accounts/sso/callback/",
        signed_out_uri=f"{site}/accounts/login/",
    ) as served:
        yield served


def sign_in_at_the_provider(page: object, provider: Provider) -> None:
    page.get_by_role("link", name="Sign in with Test ID").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{provider.url}/accounts/login/**")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill(STAFF)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PROVIDER_PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def test_signing_out_ends_the_providers_session_in_a_browser(
    provider: Provider, page: object, settings: pytest.FixtureRequest, live_server: object
) -> None:
    configure_site(settings, provider)
    # As settings.py allows it with single sign-on configured (tests/sso/test_sso_settings).
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": [CSP.SELF, provider.url]}
    agent = AgentFactory(email="agent.sso@provider.test")
    device = give_app(agent)
    site = str(live_server.url)  # type: ignore[attr-defined]

    page.goto("/accounts/login/")  # type: ignore[attr-defined]
    sign_in_at_the_provider(page, provider)
    # Back at the desk, which asks for its own second factor.
    page.wait_for_url("**/accounts/verify/**")  # type: ignore[attr-defined]
    page.locator("input[name=code]").fill(app_code(device))  # type: ignore[attr-defined]
    page.get_by_role("button", name="Confirm").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{site}/desk/")  # type: ignore[attr-defined]

    page.get_by_role("button", name="Sign out").click()  # type: ignore[attr-defined]

    # Through the provider's end-session endpoint and back to the sign-in page.
    page.wait_for_url(f"{site}/accounts/login/")  # type: ignore[attr-defined]
    assert AuditEntry.objects.filter(action=Action.SIGNOUT, actor=agent).count() == 1
    page.goto("/desk/")  # type: ignore[attr-defined]
    assert "/accounts/login/" in page.url  # type: ignore[attr-defined]
    # The provider forgot the person too: signing in again asks for its password.
    page.get_by_role("link", name="Sign in with Test ID").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{provider.url}/accounts/login/**")  # type: ignore[attr-defined]
    assert page.get_by_label("Password").is_visible()  # type: ignore[attr-defined]
