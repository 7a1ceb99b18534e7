"""The phone-line seed (a data migration) is idempotent."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from helpcenter.models import SupportLine
from helpcenter.selectors import support_lines_for

pytestmark = pytest.mark.django_db
seed_lines = importlib.import_module("helpcenter.migrations.0005_seed_support_lines").seed


def test_policy_numbers_are_seeded_once() -> None:
    count = SupportLine.objects.count()
    assert count == 12  # five countries and the default line, technical and billing each
    seed_lines(apps, None)
    assert SupportLine.objects.count() == count
    us = support_lines_for("US")
    assert {str(line.number) for line in us.lines} == {"+18008659408"}
    assert {line.kind for line in us.lines} == {"technical", "billing"}
    assert support_lines_for("AU").lines[0].number.as_national == "1800 197 503"
    assert support_lines_for("FR").is_fallback
