"""The audit viewer (issue 17): supervisors read every row on the desk, an organization's
global admins only their organization's in its settings; filters, pages and a CSV of the
filtered rows; another tenant's rows are never shown; nothing can be edited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit import context, services
from audit.actions import Action, Channel
from audit.models import AuditEntry
from audit.selectors import csv_safe
from tenants.models import Role, User
from tests.admin_forms import admin_url
from tests.conftest import T0, World
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

DESK = reverse("desk:audit")
DESK_CSV = reverse("desk:audit_csv")


def portal(org: str = "alpha") -> str:
    return reverse("portal:settings_audit", kwargs={"org": org})


def portal_csv(org: str = "alpha") -> str:
    return reverse("portal:settings_audit_csv", kwargs={"org": org})


@pytest.fixture
def rows(world: World) -> dict[str, AuditEntry]:
    """A row of each organization, one of the provider's own, and a hostile label."""
    with context.acting_from(Channel.PORTAL, "203.0.113.5"):
        role_a = services.record(
            action=Action.MEMBER_ROLE_CHANGED, actor=world.admin_a.user,
            organization=world.org_a, target=world.user_a.user, target_label="todd@alpha.test",
            before={"role": "user"}, after={"role": "billing_admin"}, now=T0,
        )  # fmt: skip
        key_b = services.record(
            action=Action.API_KEY_CREATED, actor=world.admin_b.user, organization=world.org_b,
            target_label="Bravo secret project key", now=T0 + timedelta(hours=1),
        )  # fmt: skip
    with context.acting_from(Channel.ADMIN, "198.51.100.1"):
        macro = services.record(
            action=Action.MACRO_CHANGED, actor=world.supervisor, target_label="Thanks (en)",
            now=T0 + timedelta(days=2),
        )  # fmt: skip
        hostile = services.record(
            action=Action.CONTACT_ADDED, actor=world.supervisor, organization=world.org_a,
            target_label="=HYPERLINK(\"http://evil\")", now=T0 + timedelta(days=3),
        )  # fmt: skip
    return {"role_a": role_a, "key_b": key_b, "macro": macro, "hostile": hostile}


def shown(response: Any) -> set[int]:
    return {entry.pk for entry in response.context["page"].object_list}


def read_csv(response: Any) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


# --- Who may read what ----------------------------------------------------------------------


def test_supervisors_see_every_row_on_the_desk(
    client: Client, world: World, rows: dict[str, AuditEntry]
) -> None:
    client.force_login(world.supervisor)
    response = client.get(DESK)
    assert response.status_code == 200
    assert shown(response) == {r.pk for r in rows.values()}
    html = response.content.decode()
    assert "Bravo secret project key" in html and "Alpha Corp" in html
    assert reverse("desk:audit") in client.get(reverse("desk:home")).content.decode()


def test_agents_and_customers_get_no_desk_page(client: Client, world: World) -> None:
    for person in (world.agent, world.admin_a.user):
        client.force_login(person)
        assert client.get(DESK).status_code == 404
        assert client.get(DESK_CSV).status_code == 404
    client.force_login(world.agent)
    assert reverse("desk:audit").encode() not in client.get(reverse("desk:home")).content


def test_a_global_admin_sees_only_their_organizations_rows(
    client: Client, world: World, rows: dict[str, AuditEntry]
) -> None:
    client.force_login(world.admin_a.user)
    response = client.get(portal())
    assert response.status_code == 200
    assert shown(response) == {rows["role_a"].pk, rows["hostile"].pk}
    html = response.content.decode()
    assert "Bravo secret project key" not in html
    assert "Thanks (en)" not in html
    assert portal() in client.get(reverse("portal:home", kwargs={"org": "alpha"})).content.decode()
    exported = read_csv(client.get(portal_csv()))
    assert {row["Object"] for row in exported} == {"todd@alpha.test", '\'=HYPERLINK("http://evil")'}
    # Filters cannot widen the scope: an organization filter is not offered, and ignored.
    wider = client.get(portal(), {"organization": world.org_b.pk})
    assert shown(wider) == {rows["role_a"].pk, rows["hostile"].pk}


def test_another_organizations_trail_answers_404(
    client: Client, world: World, rows: dict[str, AuditEntry]
) -> None:
    client.force_login(world.admin_a.user)
    for url in (portal("bravo"), portal_csv("bravo")):
        response = client.get(url)
        assert response.status_code == 404
        assert b"Bravo secret project key" not in response.content


def test_other_admins_are_refused_and_plain_users_asked_to_see_their_admin(
    client: Client, world: World, rows: dict[str, AuditEntry]
) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    client.force_login(billing.user)
    for url in (portal(), portal_csv()):
        response = client.get(url)
        assert response.status_code == 403
        assert b"todd@alpha.test" not in response.content
    client.force_login(world.user_a.user)
    response = client.get(portal())
    assert "portal/ask_admin.html" in [t.name for t in response.templates]
    assert b"todd@alpha.test" not in response.content
    assert b"todd@alpha.test" not in client.get(portal_csv()).content


# --- Filters, pages, CSV ----------------------------------------------------------------------


def test_filters_narrow_the_rows(client: Client, world: World, rows: dict[str, AuditEntry]) -> None:
    client.force_login(world.supervisor)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"action": Action.MACRO_CHANGED}, {"macro"}),
        ({"channel": Channel.PORTAL}, {"role_a", "key_b"}),
        ({"who": "SUPERVISOR@"}, {"macro", "hostile"}),
        ({"target": "todd"}, {"role_a"}),
        ({"target": rows["macro"].target_id or "Thanks"}, {"macro"}),
        ({"organization": world.org_b.pk}, {"key_b"}),
        # Whole days in the reader's zone (the supervisor's: the desk's, UTC here).
        ({"start": "2026-06-12", "end": "2026-06-12"}, {"macro"}),
        ({"start": "2026-06-11"}, {"macro", "hostile"}),
        ({"end": "2026-06-10"}, {"role_a", "key_b"}),
        ({"action": Action.CONTACT_ADDED, "organization": world.org_a.pk}, {"hostile"}),
    ]
    for query, expected in cases:
        response = client.get(DESK, query)
        assert response.status_code == 200, query
        assert shown(response) == {rows[name].pk for name in expected}, query
        exported = read_csv(client.get(DESK_CSV, query))
        assert len(exported) == len(expected), query


def test_bad_filters_are_form_errors_not_500(client: Client, world: World) -> None:
    client.force_login(world.supervisor)
    for query in (
        {"start": "yesterday"},
        {"action": "nothing.such"},
        {"organization": "999999999999999999999"},
        {"start": "2026-06-12", "end": "2026-06-01"},
        {"channel": "\x00"},
    ):
        response = client.get(DESK, query)
        assert response.status_code == 400, query
        assert shown(response) == set()
        assert client.get(DESK_CSV, query).status_code == 400
    assert client.get(DESK, {"page": "x"}).status_code == 200
    assert client.get(DESK, {"page": "99999999999999999999"}).status_code == 200


def test_pages_of_fifty_newest_first(client: Client, world: World) -> None:
    for minute in range(55):
        services.record(
            action=Action.SIGNIN, actor=world.agent, target_label=f"n{minute}",
            now=T0 + timedelta(minutes=minute),
        )  # fmt: skip
    client.force_login(world.supervisor)
    first = client.get(DESK, {"action": Action.SIGNIN})
    labels = [e.target_label for e in first.context["page"].object_list]
    assert labels[:2] == ["n54", "n53"] and len(labels) == 50
    html = first.content.decode()
    assert "action=signin&amp;page=2" in html
    second = client.get(DESK, {"action": Action.SIGNIN, "page": 2})
    assert [e.target_label for e in second.context["page"].object_list][-1] == "n0"
    # The CSV holds every filtered row, not one page.
    assert len(read_csv(client.get(DESK_CSV, {"action": Action.SIGNIN}))) == 55


def test_the_csv_content_and_its_guard_against_formulas(
    client: Client, world: World, rows: dict[str, AuditEntry]
) -> None:
    client.force_login(world.supervisor)
    response = client.get(DESK_CSV, {"organization": world.org_a.pk})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    exported = read_csv(response)
    assert [row["Action code"] for row in exported] == ["contact.added", "member.role_changed"]
    role = exported[1]
    assert role["Action"] == "Member's role changed"
    assert role["By"] == world.admin_a.user.email
    assert role["Organization"] == "Alpha Corp"
    assert role["Channel"] == "Portal"
    assert role["Before"] == '{"role": "user"}'
    assert role["After"] == '{"role": "billing_admin"}'
    assert role["Address"] == "203.0.113.5"
    assert role["Time"] == "2026-06-10T10:00:00+00:00"
    assert exported[0]["Object"] == '\'=HYPERLINK("http://evil")'
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx"):
        assert csv_safe(text).startswith("'")
    assert csv_safe("plain") == "plain"


def test_times_read_in_the_readers_zone(
    client: Client, world: World, rows: dict[str, AuditEntry]
) -> None:
    # Alpha's admin reads Warsaw time (the organization's zone): 10:00 UTC is 12:00.
    client.force_login(world.admin_a.user)
    html = client.get(portal()).content.decode()
    assert "12:00" in html and "Warsaw" in html
    exported = read_csv(client.get(portal_csv()))
    assert "2026-06-10T12:00:00+02:00" in {row["Time"] for row in exported}


def test_the_portal_page_in_polish(
    client: Client, world: World, rows: dict[str, AuditEntry]
) -> None:
    client.force_login(world.admin_a.user)
    response = client.get(portal(), HTTP_ACCEPT_LANGUAGE="pl")
    assert response.status_code == 200


# --- Immutability through the admin -----------------------------------------------------------


def test_the_admin_shows_the_trail_but_never_changes_it(
    client: Client, rows: dict[str, AuditEntry]
) -> None:
    root = User.objects.create_superuser("root@provider.test", "a-long-test-pw-1")
    client.force_login(root)
    entry = rows["role_a"]
    assert client.get(admin_url(AuditEntry, "changelist")).status_code == 200
    assert client.get(admin_url(AuditEntry, "change", entry.pk)).status_code == 200
    assert client.get(admin_url(AuditEntry, "add")).status_code == 403
    changed = client.post(admin_url(AuditEntry, "change", entry.pk), {"actor_label": "x"})
    assert changed.status_code == 403
    deleted = client.post(admin_url(AuditEntry, "delete", entry.pk), {"post": "yes"})
    assert deleted.status_code == 403
    bulk = client.post(
        admin_url(AuditEntry, "changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    entry.refresh_from_db()
    assert entry.actor_label == rows["role_a"].actor_label
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    assert AuditEntry.objects.count() == len(rows)
