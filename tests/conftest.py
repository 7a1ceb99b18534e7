"""The suite's tiers and the base fixture's shape (STYLE.md "Tests").

Tiers: pure (marked ``pure``: no database, no Django), service and endpoint (pytest-django),
browser (``tests/e2e``, marked ``browser``), workers (``tests/workers``, marked
``workers``), and the slow API fuzzing (marked ``slow``). README "Tests" has the commands.

This module imports nothing of Django, so ``pytest -p no:django`` runs the pure tier: it
then collects only the modules marked ``pure``. With pytest-django active, it registers
``tests.django_plugin``: the base fixture, the per-test settings and the ``postgres``
marker's hook.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tenants.models import Membership, Organization, User
    from tickets.models import Ticket

# A fixed instant: Wednesday 2026-06-10 10:00 UTC (18:00 in Beijing, 12:00 in Warsaw).
T0 = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)

TESTS = Path(__file__).resolve().parent
# Tiers by directory: every test under these is marked so.
DIRECTORY_MARKERS = {"e2e": "browser", "workers": "workers"}


@dataclass
class World:
    """Two tenants, an admin of each, a plain user of the first, an agent and a supervisor;
    built by the ``world`` fixture (tests/django_plugin.py)."""

    org_a: Organization
    org_b: Organization
    admin_a: Membership
    admin_b: Membership
    user_a: Membership
    agent: User
    supervisor: User

    def file(
        self,
        membership: Membership | None = None,
        *,
        now: datetime = T0,
        **overrides: object,
    ) -> Ticket:
        from tickets.actors import Actor
        from tickets.services import TicketDraft, ticket_create

        membership = membership or self.admin_a
        values: dict[str, object] = {
            "title": "Cannot send mail",
            "description": "Outbound mail is stuck in the outbox for everyone.",
            "category": "technical",
            "impact": "degraded",
            "scope": "many",
            "contact_email": membership.user.email,
        }
        values.update(overrides)
        if values["category"] == "technical" and "product" not in overrides:
            # A technical request names its product (tickets.intake); the migrations seed them.
            from helpcenter.models import Service

            values["product"] = Service.objects.get(slug="exchange-online")
        return ticket_create(
            organization=membership.organization,
            actor=Actor.for_member(membership),
            draft=TicketDraft(**values),  # type: ignore[arg-type]
            now=now,
        )


def _django(config: pytest.Config) -> bool:
    return config.pluginmanager.has_plugin("django")


def pytest_configure(config: pytest.Config) -> None:
    if _django(config):
        config.pluginmanager.import_plugin("tests.django_plugin")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Without pytest-django only the pure tier is collected: a module that is not marked
    ``pure``, or a folder holding none, would import Django (and its conftest too)."""
    if _django(config):
        return None
    if collection_path.is_dir():
        return not any(_marked_pure(path) for path in collection_path.rglob("test_*.py"))
    if collection_path.name.startswith("test_") and collection_path.suffix == ".py":
        return not _marked_pure(collection_path)
    return None


@functools.cache
def _marked_pure(path: Path) -> bool:
    """Whether the module's ``pytestmark`` names ``pytest.mark.pure``; read, not imported."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
                return any(
                    isinstance(node, ast.Attribute)
                    and node.attr == "pure"
                    and isinstance(node.value, ast.Attribute)
                    and node.value.attr == "mark"
                    for node in ast.walk(statement.value)  # type: ignore[arg-type]
                )
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path.resolve()
        if not path.is_relative_to(TESTS):
            continue
        marker = DIRECTORY_MARKERS.get(path.relative_to(TESTS).parts[0])
        if marker is not None and item.get_closest_marker(marker) is None:
            item.add_marker(marker)
