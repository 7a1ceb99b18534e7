"""The suite's Django layer: the base fixture, the per-test settings every service and
endpoint test runs under, and the ``postgres`` marker.

``tests/conftest.py`` registers this module only when pytest-django is active, so the
pure tier (``pytest -p no:django``) never imports Django.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection
from django.test import override_settings
from django.utils import translation

from severity.models import forget_targets
from tenants.models import Contract, Role
from tests.conftest import World
from tests.factories import AgentFactory, MembershipFactory, OrganizationFactory, SupervisorFactory
from tests.mfa_support import give_app

# --- Tiers -----------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        _own_redis_database(worker)


def _own_redis_database(worker: str) -> None:
    """Under pytest-xdist, each worker's cache is its own Redis database (the configured
    one + 1 + the worker's number). The test databases are per worker already, so their
    primary keys collide: two workers would share throttle and sign-in counters keyed by
    them, and ``cache.clear()`` (a FLUSHDB) in one would empty the other's mid-test."""
    cache = django_settings.CACHES["default"]
    if "redis" not in cache["BACKEND"].lower():
        return  # the local-memory cache is per process already
    url = urlsplit(cache["LOCATION"])
    number = int(url.path.strip("/") or 0) + 1 + int(worker.removeprefix("gw"))
    if number > 15:
        raise pytest.UsageError(f"Redis has 16 databases; {worker} would need number {number}")
    own = {**cache, "LOCATION": urlunsplit(url._replace(path=f"/{number}"))}
    override_settings(CACHES={**django_settings.CACHES, "default": own}).enable()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``postgres`` is skipped, before its fixtures build anything, when the
    database is not PostgreSQL; under CI (``SUPPORTDESK_CI=1``) it fails instead, because
    CI runs on PostgreSQL and must not skip these silently."""
    if item.get_closest_marker("postgres") is None or connection.vendor == "postgresql":
        return
    reason = (
        f"needs PostgreSQL (the database is {connection.vendor}; "
        "run with DATABASE_URL=postgres://…)"
    )
    if os.environ.get("SUPPORTDESK_CI") == "1":
        pytest.fail(f"SUPPORTDESK_CI=1 but the test {reason}", pytrace=False)
    pytest.skip(reason)


# --- The base fixture (STYLE.md) -------------------------------------------------------------


@pytest.fixture
def world(db: None) -> World:
    org_a = OrganizationFactory(slug="alpha", name="Alpha Corp", contract=Contract.ADVANCED)
    org_b = OrganizationFactory(
        slug="bravo", name="Bravo Inc", contract=Contract.STANDARD, time_zone="America/New_York"
    )
    admin_a = MembershipFactory(organization=org_a, role=Role.GLOBAL_ADMIN)
    admin_b = MembershipFactory(organization=org_b, role=Role.GLOBAL_ADMIN)
    user_a = MembershipFactory(organization=org_a, role=Role.USER)
    agent = AgentFactory(email="agent@provider.test")
    supervisor = SupervisorFactory(email="supervisor@provider.test")
    # Provider staff have a second factor, as mfa.middleware requires (tests.mfa_support).
    give_app(agent)
    give_app(supervisor)
    return World(
        org_a=org_a,
        org_b=org_b,
        admin_a=admin_a,
        admin_b=admin_b,
        user_a=user_a,
        agent=agent,
        supervisor=supervisor,
    )


# --- Every test's settings -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _second_step_after_force_login(monkeypatch: pytest.MonkeyPatch) -> None:
    """``client.force_login`` signs a person in as they would be after both steps: staff
    enrolled (an authenticator app) and verified, anyone else with a factor verified. The
    second-factor middleware itself is unchanged; tests of the second step sign in with
    ``tests.mfa_support.force_login_password_only``."""
    from django.test import Client

    from tests.mfa_support import complete_second_step, force_login_password_only

    def force_login(self: Client, user: object, backend: str | None = None) -> None:
        force_login_password_only(self, user, backend)
        complete_second_step(self, user)  # type: ignore[arg-type]

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def _cold_target_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no SLA target cached in the process (severity.models), so its
    queries (and pinned query counts) do not depend on the tests before it. Within a test
    the process never re-reads calendars and policies on a timer (a pinned query count
    must not depend on how long the test took); its own writes still clear the caches
    through the models' signals."""
    import severity.models

    monkeypatch.setattr(severity.models, "FRESHNESS_SECONDS", float("inf"))
    forget_targets()


@pytest.fixture(autouse=True)
def _cold_desk_caches() -> None:
    """Each test starts without the queue's filter lists and the desk banner's sweep
    reading cached (tickets.desk_forms, tickets.health): the process's cache outlives the
    test database they were read from."""
    from django.conf import settings
    from django.core.cache import cache

    from tickets.desk_forms import FILTER_CHOICES_KEY
    from tickets.health import BANNER_KEY

    languages = [FILTER_CHOICES_KEY.format(language=code) for code, _name in settings.LANGUAGES]
    cache.delete_many([*languages, BANNER_KEY])


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test ends with no language active in its thread: a Polish request leaves
    Polish active (LocaleMiddleware), which the next test of the worker would read."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: pytest.FixtureRequest) -> None:
    # Production hashing costs ~0.5 s per password by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_tasks_published(settings: pytest.FixtureRequest) -> None:
    """Services publish deadline and delivery tasks after commit; tests that do not say
    otherwise must not write them into a developer's broker. Tests that check
    publishing, and the worker tier, switch them back on."""
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK,
        DEADLINE_TASKS=False,
        OUTBOX_TASKS=False,
        # When a test turns publishing on, it happens on commit, in the test's thread.
        OUTBOX_PUBLISH_BATCH_SECONDS=0,
    )


SEEDS = (
    "severity.migrations.0002_seed_policy",
    "helpcenter.migrations.0002_seed_services",
    "helpcenter.migrations.0005_seed_support_lines",
)


@pytest.fixture(autouse=True)
def _policy_data(request: pytest.FixtureRequest) -> None:
    """Transactional tests empty every table when they end, data migrations' rows included,
    and ``serialized_rollback`` cannot always put them back (Playwright's greenlets hand
    the test a different connection object than the one holding the serialized copy). So
    a transactional test re-runs the seeds of the calendars, SLA targets and services:
    they are idempotent, so this is exact."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    for module in SEEDS:
        if module == "severity.migrations.0002_seed_policy":
            _seed_policy()
        else:
            importlib.import_module(module).seed(apps, None)


def _seed_policy() -> None:
    """0002's calendars and targets as 0007 left them: version 1 of the default policy."""
    from django.utils import timezone

    from severity.models import Calendar, CalendarWindow, SlaPolicy, SlaPolicyVersion, SlaTarget

    seeds = importlib.import_module("severity.migrations.0002_seed_policy")
    now = timezone.now()
    policy, _ = SlaPolicy.objects.get_or_create(
        is_default=True, defaults={"name": "Standard terms"}
    )
    version, _ = SlaPolicyVersion.objects.get_or_create(
        policy=policy, number=1, defaults={"published_at": now}
    )
    if policy.current_version_id != version.pk:
        policy.current_version = version
        policy.save(update_fields=["current_version"])
    calendars = {}
    for name, (zone, org_zone, days, start, end) in seeds.CALENDARS.items():
        calendar, created = Calendar.objects.get_or_create(
            name=name, defaults={"time_zone": zone, "uses_organization_time_zone": org_zone}
        )
        if created:
            CalendarWindow.objects.bulk_create(
                CalendarWindow(calendar=calendar, weekday=day, start=start, end=end) for day in days
            )
        calendars[name] = calendar
    for (severity, category), (cal, response, cadence, cooperation) in seeds.TARGETS.items():
        SlaTarget.objects.update_or_create(
            version=version,
            severity=severity,
            category=category,
            defaults={
                "calendar": calendars[cal],
                "first_response": response,
                "update_cadence": cadence,
                "cooperation_window": cooperation,
            },
        )
    forget_targets()
