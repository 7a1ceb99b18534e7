"""A first run on SQLite is quiet: the covering-index warning (models.W040) that SQLite
alone raises is silenced there, and only there."""

from __future__ import annotations

import pytest

from tests.test_settings import _manage


def _silenced(tmp_path: object, **environ: str) -> str:
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.SILENCED_SYSTEM_CHECKS)",
        SUPPORTDESK_DATA_DIR=str(tmp_path),
        **environ,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_w040_is_silenced_on_sqlite_only(tmp_path: object) -> None:
    assert _silenced(tmp_path) == "['models.W040']"
    postgres = _silenced(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/unused")
    assert postgres == "[]"


@pytest.mark.slow
def test_migrating_a_fresh_sqlite_database_prints_no_warning(tmp_path: object) -> None:
    result = _manage(
        "migrate", "--no-input", "--verbosity", "0", SUPPORTDESK_DATA_DIR=str(tmp_path)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "W040" not in output
    assert "WARNINGS" not in output
    assert "Warning" not in output
