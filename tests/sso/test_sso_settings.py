"""Single sign-on from the environment: configured, production still passes --deploy; half
configured or over plain HTTP in production, the site refuses to start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_settings import DELIVERY, SECRET, _manage

SSO = {
    "OIDC_RP_CLIENT_ID": "supportdesk",
    "OIDC_RP_CLIENT_SECRET": "client-secret-0123456789",
    "OIDC_OP_ISSUER": "https://id.example.com/realms/staff",
    "OIDC_PROVIDER_NAME": "Example ID",
}
PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": SECRET,
    "ALLOWED_HOSTS": "support.example.com",
    **DELIVERY,
}


def test_production_with_single_sign_on_passes_the_deploy_check(tmp_path: Path) -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SUPPORTDESK_DATA_DIR=str(tmp_path),
        **PRODUCTION,
        **SSO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"OIDC_RP_CLIENT_SECRET": ""}, "needs OIDC_RP_CLIENT_SECRET"),
        ({"OIDC_OP_ISSUER": ""}, "needs OIDC_OP_ISSUER, or OIDC_OP_AUTHORIZATION_ENDPOINT"),
        ({"OIDC_OP_ISSUER": "http://id.example.com"}, "OIDC_OP_ISSUER must be https://"),
        ({"OIDC_OP_JWKS_ENDPOINT": "id.example.com/jwks"}, "is not an http(s) URL"),
        ({"OIDC_RP_SIGN_ALGO": "HS256"}, "OIDC_RP_SIGN_ALGO='HS256' must be one of"),
        (
            {"OIDC_OP_LOGOUT_ENDPOINT": "http://id.example.com/logout"},
            "OIDC_OP_LOGOUT_ENDPOINT must be https://",
        ),
        ({"OIDC_OP_LOGOUT_ENDPOINT": "/logout"}, "is not an http(s) URL"),
    ],
    ids=[
        "no-secret",
        "no-provider",
        "plain-http",
        "not-a-url",
        "shared-secret-signing",
        "plain-http-logout",
        "logout-not-a-url",
    ],
)
def test_a_half_or_unsafe_configuration_refuses_to_start(
    tmp_path: Path, override: dict[str, str], message: str
) -> None:
    result = _manage(
        "check", SUPPORTDESK_DATA_DIR=str(tmp_path), **{**PRODUCTION, **SSO, **override}
    )
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("override", "allowed"),
    [
        ({}, "https://id.example.com"),
        (
            {"OIDC_OP_LOGOUT_ENDPOINT": "https://logout.example.com/end"},
            "https://logout.example.com",
        ),
    ],
    ids=["issuer", "logout-endpoint"],
)
def test_the_sign_out_form_may_redirect_to_the_providers_end_session_endpoint(
    tmp_path: Path, override: dict[str, str], allowed: str
) -> None:
    """The Sign out button's answer redirects to the provider, and browsers hold a form's
    redirects to form-action: the provider's origin is allowed there, nothing else."""
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(*map(str, settings.SECURE_CSP['form-action']))",
        SUPPORTDESK_DATA_DIR=str(tmp_path),
        **{**PRODUCTION, **SSO, **override},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["'self'", allowed]
