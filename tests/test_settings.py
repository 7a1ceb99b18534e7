"""Settings come from the environment, fail loudly on bad values, and pass --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from supportdesk import env

ROOT = Path(__file__).resolve().parent.parent
SECRET = "x" * 20 + "production-secret-key-for-the-deploy-check-0123456789"


def _manage(*args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    unwanted = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unwanted}
    clean.update(environ)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


# What production needs besides a secret: channels that deliver codes to people.
DELIVERY = {
    "SMS_BACKEND": "verification.delivery.HttpSmsBackend",
    "SMS_HTTP_URL": "https://sms.example.com/send",
    "SMS_HTTP_TOKEN": "sms-token-0123456789",
    "EMAIL_URL": "smtps://user:pass@smtp.example.com:465",
}


def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="support.example.com",
        SUPPORTDESK_DATA_DIR=str(tmp_path),
        **DELIVERY,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    result = _manage(
        "check",
        DJANGO_ENV="production",
        SECRET_KEY="",
        ALLOWED_HOSTS="support.example.com",
        SUPPORTDESK_DATA_DIR=str(tmp_path),
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SMS_BACKEND": "verification.delivery.ConsoleSmsBackend"}, "SMS provider"),
        ({"SMS_BACKEND": ""}, "SMS provider"),
        ({"SMS_HTTP_URL": ""}, "SMS_HTTP_URL"),
        ({"EMAIL_URL": "console://"}, "EMAIL_URL=smtp"),
        ({"EMAIL_URL": ""}, "EMAIL_URL=smtp"),
        ({"EMAIL_URL": "file:///tmp/mail"}, "EMAIL_URL=smtp"),
    ],
)
def test_production_refuses_to_write_codes_to_a_log(
    tmp_path: Path, override: dict[str, str], message: str
) -> None:
    """Probe finding (issue 17): with no SMS provider the console backend stayed on in
    production and the web log held the codes."""
    result = _manage(
        "check",
        DJANGO_ENV="production",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="support.example.com",
        SUPPORTDESK_DATA_DIR=str(tmp_path),
        **{**DELIVERY, **override},
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_bad_values_fail_at_start_up(tmp_path: Path) -> None:
    result = _manage("check", DEBUG="maybe", SUPPORTDESK_DATA_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_env_helpers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    assert env.env_bool("X_BOOL", False) is True
    monkeypatch.setenv("X_INT", "12")
    assert env.env_int("X_INT", 1, minimum=10) == 12
    monkeypatch.setenv("X_INT", "9")
    with pytest.raises(env.ImproperlyConfiguredEnv):
        env.env_int("X_INT", 1, minimum=10)
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(env.ImproperlyConfiguredEnv):
        env.env_int("X_INT", 1)
    monkeypatch.setenv("X_LIST", " a, b ,,c ")
    assert env.env_list("X_LIST", []) == ["a", "b", "c"]
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    monkeypatch.setenv("X_SECRET_FILE", str(secret_file))
    assert env.env_secret("X_SECRET") == "from-a-file"
    monkeypatch.setenv("X_CHOICE", "purple")
    with pytest.raises(env.ImproperlyConfiguredEnv):
        env.env_choice("X_CHOICE", "red", ("red", "blue"))
    monkeypatch.delenv("X_MISSING", raising=False)
    assert env.env_float("X_MISSING", 2.5) == 2.5


def test_email_url_parsing() -> None:
    from supportdesk.settings import _email_from_url

    smtp = _email_from_url("smtp://mailer:p%40ss@mail.example.com:587?tls=1")
    assert smtp["EMAIL_HOST"] == "mail.example.com"
    assert smtp["EMAIL_PORT"] == 587
    assert smtp["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert smtp["EMAIL_USE_TLS"] is True
    assert _email_from_url("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        _email_from_url("carrier-pigeon://coop")


def test_every_variable_settings_reads_is_in_env_example() -> None:
    import re

    root = Path(__file__).resolve().parent.parent
    read = set(
        re.findall(
            r'env_(?:str|int|bool|float|list|choice|secret)\("([A-Z_0-9]+)"',
            (root / "supportdesk" / "settings.py").read_text(),
        )
    )
    listed = set(re.findall(r"^#? ?([A-Z_0-9]+)=", (root / ".env.example").read_text(), re.M))
    assert read and sorted(read - listed) == []


def test_mailin_address_must_be_a_plain_address() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from supportdesk.settings import _mailin_address

    assert _mailin_address(" help@Desk.Example.COM ") == "help@desk.example.com"
    for bad in ("help", "@desk.example.com", "help@", "help+x@desk.example.com", "a b@c.d"):
        with pytest.raises(ImproperlyConfigured):
            _mailin_address(bad)
