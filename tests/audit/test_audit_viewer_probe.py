"""Adversarial probes of the audit trail viewers (``/desk/audit/``, ``/desk/audit.csv``,
``/portal/<org>/settings/audit/`` and its CSV): dates at the ends of the calendar, in
readers' zones far from Greenwich, bad actions and channels, NUL bytes, very long and
out-of-range values, wrong methods and another tenant's trail. A 400 or a page, never a
500."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import World

pytestmark = pytest.mark.django_db

HUGE = "9" * 30
NUL = "a\x00b"
LONG = "x" * 20_000

DESK_AUDIT = reverse("desk:audit")
DESK_AUDIT_CSV = reverse("desk:audit_csv")


def _portal_audit(org: str = "alpha") -> str:
    return reverse("portal:settings_audit", kwargs={"org": org})


def _portal_audit_csv(org: str = "alpha") -> str:
    return reverse("portal:settings_audit_csv", kwargs={"org": org})


def _body(response: object) -> bytes:
    streaming = getattr(response, "streaming", False)
    return b"".join(response.streaming_content) if streaming else response.content  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "query",
    [
        {"end": "9999-12-31"},
        {"start": "9999-12-31"},
        {"start": "0001-01-01"},
        {"end": "0001-01-01"},
        {"start": "0001-01-01", "end": "9999-12-31"},
    ],
)
def test_audit_filters_at_the_ends_of_the_calendar_are_not_500(
    client: Client, world: World, query: dict[str, str]
) -> None:
    client.force_login(world.supervisor)
    for url in (DESK_AUDIT, DESK_AUDIT_CSV):
        response = client.get(url, query)
        _body(response)
        assert response.status_code in (200, 400), (url, query)
    client.force_login(world.admin_a.user)
    for url in (_portal_audit(), _portal_audit_csv()):
        response = client.get(url, query)
        _body(response)
        assert response.status_code in (200, 400), (url, query)


@pytest.mark.parametrize(
    "query",
    [
        {"action": "no.such.action"},
        {"channel": "pigeon"},
        {"start": "2026-13-45"},
        {"end": "yesterday"},
        {"start": "2026-06-10", "end": "2026-06-01"},
        {"who": NUL},
        {"target": NUL},
        {"who": LONG},
        {"organization": "abc"},
        {"organization": HUGE},
        {"organization": "-1"},
    ],
)
def test_bad_audit_filters_are_400_on_every_viewer(
    client: Client, world: World, query: dict[str, str]
) -> None:
    client.force_login(world.supervisor)
    assert client.get(DESK_AUDIT, query).status_code == 400
    assert client.get(DESK_AUDIT_CSV, query).status_code == 400
    if "organization" in query:
        return  # the portal has no organization filter: the parameter is not its own
    client.force_login(world.admin_a.user)
    assert client.get(_portal_audit(), query).status_code == 400
    assert client.get(_portal_audit_csv(), query).status_code == 400


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Pacific/Kiritimati", "America/Adak"])
def test_audit_day_bounds_in_a_readers_zone_far_from_greenwich(
    client: Client, world: World, zone: str
) -> None:
    """0001-01-01 begins before the first instant a datetime holds in UTC east of
    Greenwich, and the day after 9999-12-31 does not exist: no bound on that side."""
    user = world.admin_a.user
    user.time_zone = zone
    user.save(update_fields=["time_zone"])
    client.force_login(user)
    for query in ({"start": "0001-01-01"}, {"end": "9999-12-31"}, {"end": "0001-01-01"}):
        response = client.get(_portal_audit_csv(), query)
        _body(response)
        assert response.status_code == 200, query
        assert client.get(_portal_audit(), query).status_code == 200, query


@pytest.mark.parametrize("page", [HUGE, "-1", "abc", "0", NUL])
def test_audit_pages_out_of_range_show_a_page(client: Client, world: World, page: str) -> None:
    client.force_login(world.supervisor)
    assert client.get(DESK_AUDIT, {"page": page}).status_code == 200
    client.force_login(world.admin_a.user)
    assert client.get(_portal_audit(), {"page": page}).status_code == 200


def test_audit_viewers_refuse_writes(client: Client, world: World) -> None:
    client.force_login(world.supervisor)
    for url in (DESK_AUDIT, DESK_AUDIT_CSV):
        assert client.post(url, {"action": ""}).status_code == 405
        assert client.delete(url).status_code == 405
    client.force_login(world.admin_a.user)
    for url in (_portal_audit(), _portal_audit_csv()):
        assert client.post(url).status_code == 405
    assert client.get(_portal_audit("bravo")).status_code == 404
    assert client.get(_portal_audit_csv("bravo")).status_code == 404
    assert client.get(_portal_audit("no-such-org")).status_code == 404
