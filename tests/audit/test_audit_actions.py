"""Every action issue 17 lists leaves its audit row, made through its real channel: the
portal's forms, the REST API, the desk's pages and the Django admin (the test client
posts what a browser would). Each test names the action, who, which organization and
the channel the row says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from audit.actions import Action, Channel
from audit.models import AuditEntry
from helpcenter.models import Article, Incident, Service
from severity.models import Calendar, SlaPolicy, SlaPolicyVersion
from tenants.api_keys import api_key_create
from tenants.credentials import ApiKey, ApiKeyAddress
from tenants.models import Membership, Organization, RegisteredEmail, Role, User
from tests.admin_forms import admin_url, form_data
from tests.api.conftest import bearer
from tests.conftest import T0, World
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tickets.models import Macro

pytestmark = pytest.mark.django_db


def only(action: str, **match: Any) -> AuditEntry:
    """The one row of ``action`` (and ``match``): a second one would be a double record."""
    rows = list(AuditEntry.objects.filter(action=action, **match))
    assert len(rows) == 1, [(r.action, r.target_label, r.after) for r in rows]
    return rows[0]


def check(
    entry: AuditEntry, *, actor: User | None, organization: Organization | None, channel: str
) -> None:
    assert entry.actor == actor
    assert entry.actor_label == (actor.email if actor is not None else entry.actor_label)
    assert entry.organization_id == (organization.pk if organization is not None else None)
    assert entry.channel == channel
    assert entry.ip == "127.0.0.1"  # the test client's address, from REMOTE_ADDR


@pytest.fixture
def root(client: Client) -> User:
    """A superuser signed in to the Django admin."""
    user = User.objects.create_superuser("root@provider.test", "a-long-test-pw-1")
    client.force_login(user)
    return user


@pytest.fixture
def portal_admin(client: Client, world: World) -> User:
    client.force_login(world.admin_a.user)
    return world.admin_a.user


# --- API keys ---------------------------------------------------------------------------------


def test_api_key_created_and_revoked_in_the_portal(
    world: World, client: Client, portal_admin: User
) -> None:
    url = reverse("portal:settings_api_keys", kwargs={"org": "alpha"})
    assert client.post(url, {"name": "CRM sync", "role": Role.GLOBAL_ADMIN}).status_code == 200
    key = ApiKey.objects.get(name="CRM sync")
    created = only(Action.API_KEY_CREATED)
    check(created, actor=portal_admin, organization=world.org_a, channel=Channel.PORTAL)
    assert created.target_id == str(key.pk)
    assert created.after == {"name": "CRM sync", "role": "global_admin", "prefix": key.prefix}
    assert "secret" not in str(created.after)

    revoke = reverse("portal:settings_api_key_revoke", kwargs={"org": "alpha", "key": key.pk})
    assert client.post(revoke).status_code == 302
    assert client.post(revoke).status_code == 302  # twice: one row
    revoked = only(Action.API_KEY_REVOKED)
    check(revoked, actor=portal_admin, organization=world.org_a, channel=Channel.PORTAL)


def test_api_key_revoked_in_the_admin(world: World, client: Client, root: User) -> None:
    key = api_key_create(
        organization=world.org_b, name="crm", role=Role.GLOBAL_ADMIN, created_by=None, now=T0
    ).credential
    response = client.post(
        admin_url(ApiKey, "changelist"), {"action": "revoke", "_selected_action": [key.pk]}
    )
    assert response.status_code == 302
    check(only(Action.API_KEY_REVOKED), actor=root, organization=world.org_b, channel=Channel.ADMIN)


def test_api_key_use_from_a_new_address_is_recorded_once_per_address(world: World) -> None:
    cache.clear()
    issued = api_key_create(
        organization=world.org_a, name="monitoring", role=Role.GLOBAL_ADMIN, created_by=None,
        now=T0,
    )  # fmt: skip
    api = bearer(issued.secret)
    for address in ("198.51.100.7", "198.51.100.7", "203.0.113.20", "198.51.100.7"):
        assert api.get("/api/v1/tickets/", REMOTE_ADDR=address).status_code == 200
    rows = AuditEntry.objects.filter(action=Action.API_KEY_NEW_ADDRESS).order_by("pk")
    assert [(r.ip, r.after["address"]) for r in rows] == [
        ("198.51.100.7", "198.51.100.7"),
        ("203.0.113.20", "203.0.113.20"),
    ]
    first = rows[0]
    assert (first.channel, first.organization_id, first.actor) == (
        Channel.API,
        world.org_a.pk,
        None,
    )
    assert first.actor_label == issued.credential.label
    assert set(
        ApiKeyAddress.objects.filter(key=issued.credential).values_list("ip", flat=True)
    ) == {"198.51.100.7", "203.0.113.20"}
    # Known to the database but not to the cache (another process, a restart): no new row.
    cache.clear()
    assert api.get("/api/v1/tickets/", REMOTE_ADDR="203.0.113.20").status_code == 200
    assert rows.count() == 2


def test_a_refused_key_notes_no_address(world: World) -> None:
    cache.clear()
    issued = api_key_create(
        organization=world.org_a, name="old", role=Role.GLOBAL_ADMIN, created_by=None, now=T0
    )
    bad = bearer(issued.secret[:-2] + "xx")
    assert bad.get("/api/v1/tickets/", REMOTE_ADDR="198.51.100.9").status_code == 401
    assert not AuditEntry.objects.filter(action=Action.API_KEY_NEW_ADDRESS).exists()


# --- Members and roles ----------------------------------------------------------------------


def test_member_role_changed_and_removed_in_the_portal(
    world: World, client: Client, portal_admin: User
) -> None:
    member = world.user_a
    url = reverse("portal:settings_member", kwargs={"org": "alpha", "member": member.pk})
    assert client.post(url, {"role": Role.BILLING_ADMIN}).status_code == 302
    changed = only(Action.MEMBER_ROLE_CHANGED)
    check(changed, actor=portal_admin, organization=world.org_a, channel=Channel.PORTAL)
    assert (changed.before, changed.after) == ({"role": "user"}, {"role": "billing_admin"})
    assert changed.target_label == member.user.email

    remove = reverse("portal:settings_member_remove", kwargs={"org": "alpha", "member": member.pk})
    assert client.post(remove).status_code == 302
    removed = only(Action.MEMBER_REMOVED)
    check(removed, actor=portal_admin, organization=world.org_a, channel=Channel.PORTAL)
    assert removed.before == {"role": "billing_admin"}


def test_a_refused_role_change_writes_no_row(
    world: World, client: Client, portal_admin: User
) -> None:
    # The last global admin demoting themselves: refused, nothing recorded.
    url = reverse("portal:settings_member", kwargs={"org": "alpha", "member": world.admin_a.pk})
    assert client.post(url, {"role": Role.USER}).status_code == 200
    assert not AuditEntry.objects.filter(action=Action.MEMBER_ROLE_CHANGED).exists()


def test_members_added_changed_and_removed_in_the_admin(
    world: World, client: Client, root: User
) -> None:
    person = UserFactory(email="new@alpha.test")
    add = admin_url(Membership, "add")
    data = {"user": person.pk, "organization": world.org_a.pk, "role": Role.USER}
    assert client.post(add, data).status_code == 302
    member = Membership.objects.get(user=person)
    added = only(Action.MEMBER_ADDED)
    check(added, actor=root, organization=world.org_a, channel=Channel.ADMIN)
    assert added.after == {"role": "user"}

    change = admin_url(Membership, "change", member.pk)
    data = form_data(client.get(change))
    data["role"] = Role.SERVICE_SUPPORT_ADMIN
    assert client.post(change, data).status_code == 302
    check(
        only(Action.MEMBER_ROLE_CHANGED), actor=root, organization=world.org_a,
        channel=Channel.ADMIN,
    )  # fmt: skip

    assert (
        client.post(admin_url(Membership, "delete", member.pk), {"post": "yes"}).status_code == 302
    )
    check(only(Action.MEMBER_REMOVED), actor=root, organization=world.org_a, channel=Channel.ADMIN)


def test_deleting_an_account_in_the_admin_removes_its_memberships_through_the_rule(
    world: World, client: Client, root: User
) -> None:
    person = world.user_a.user
    delete = admin_url(User, "delete", person.pk)
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not User.objects.filter(pk=person.pk).exists()
    removed = only(Action.MEMBER_REMOVED)
    check(removed, actor=root, organization=world.org_a, channel=Channel.ADMIN)
    assert removed.target_label == person.email

    # The last global admin's account is refused, and nothing changes.
    last = world.admin_b.user
    response = client.post(admin_url(User, "delete", last.pk), {"post": "yes"})
    assert response.status_code == 302
    assert User.objects.filter(pk=last.pk).exists()
    assert Membership.objects.filter(pk=world.admin_b.pk).exists()
    assert AuditEntry.objects.filter(action=Action.MEMBER_REMOVED).count() == 1


def test_staff_access_changed_in_the_admin(world: World, client: Client, root: User) -> None:
    agent = world.agent
    change = admin_url(User, "change", agent.pk)
    data = form_data(client.get(change))
    data["is_staff"] = "on"
    data["full_name"] = "Renamed"  # not access: not in the row
    assert client.post(change, data).status_code == 302
    row = only(Action.ACCOUNT_ACCESS_CHANGED)
    check(row, actor=root, organization=None, channel=Channel.ADMIN)
    assert (row.before, row.after) == ({"is_staff": False}, {"is_staff": True})
    # Saving again unchanged writes nothing.
    assert client.post(change, form_data(client.get(change))).status_code == 302
    assert AuditEntry.objects.filter(action=Action.ACCOUNT_ACCESS_CHANGED).count() == 1


# --- Registered contacts ----------------------------------------------------------------------


def test_contacts_added_refused_and_removed_in_the_portal(
    world: World, client: Client, portal_admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    add = reverse("portal:contact_email_add", kwargs={"org": "alpha"})
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            client.post(add, {"email": "ops@alpha.test", "password": PASSWORD}).status_code == 302
        )
        assert client.post(add, {"email": "x@alpha.test", "password": "wrong"}).status_code == 200
    added = only(Action.CONTACT_ADDED)
    check(added, actor=portal_admin, organization=world.org_a, channel=Channel.PORTAL)
    assert "ops@alpha.test" not in str(added.after)  # masked, as the desk shows it
    refused = only(Action.CONTACT_REFUSED)
    assert refused.after["reason"] == "wrong_password"
    assert "wrong" not in str(refused.before) + str(refused.after).replace("wrong_password", "")

    registered = RegisteredEmail.objects.get(email="ops@alpha.test")
    remove = reverse(
        "portal:contact_remove", kwargs={"org": "alpha", "kind": "email", "contact": registered.pk}
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(remove, {"password": PASSWORD}).status_code == 302
    removed = only(Action.CONTACT_REMOVED)
    check(removed, actor=portal_admin, organization=world.org_a, channel=Channel.PORTAL)


def test_a_contact_added_in_the_admin(
    world: World, client: Client, root: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            admin_url(RegisteredEmail, "add"),
            {"organization": world.org_b.pk, "email": "it@bravo.test", "label": ""},
        )
    assert response.status_code == 302
    check(only(Action.CONTACT_ADDED), actor=root, organization=world.org_b, channel=Channel.ADMIN)


# --- Organization settings ----------------------------------------------------------------------


def test_organization_settings_changed_in_the_admin(
    world: World, client: Client, root: User
) -> None:
    change = admin_url(Organization, "change", world.org_a.pk)
    data = form_data(client.get(change))
    data["time_zone"] = "Asia/Tokyo"
    data["contract"] = "standard"
    assert client.post(change, data).status_code == 302
    row = only(Action.ORGANIZATION_CHANGED)
    check(row, actor=root, organization=world.org_a, channel=Channel.ADMIN)
    assert row.before == {"contract": "advanced", "time_zone": "Europe/Warsaw"}
    assert row.after == {"contract": "standard", "time_zone": "Asia/Tokyo"}


def test_an_organizations_sla_policy_set_on_the_desk(world: World, client: Client) -> None:
    from slapolicies import services as sla

    client.force_login(world.supervisor)
    policy = sla.policy_create(
        name="Gold", description="", contract="", actor=world.supervisor, now=T0
    )
    draft = sla.version_draft(policy=policy, actor=world.supervisor, now=T0)
    sla.version_publish(version=draft, actor=world.supervisor, apply_to_open=False, now=T0)
    response = client.post(
        reverse("slapolicies:assign"),
        {"organization": world.org_a.pk, "policy": policy.pk, "apply_to_open": "0", "confirm": "1"},
    )
    assert response.status_code in (200, 302)
    row = only(Action.ORGANIZATION_CHANGED)
    check(row, actor=world.supervisor, organization=world.org_a, channel=Channel.DESK)
    assert row.after["policy"] == policy.pk


# --- Articles and incidents ---------------------------------------------------------------------


def test_articles_published_and_unpublished_in_the_admin(client: Client, root: User) -> None:
    article = Article.objects.create(slug="vpn", title="Connect to the VPN", body="Steps.")
    changelist = admin_url(Article, "changelist")
    for action in ("publish", "publish", "unpublish"):
        client.post(changelist, {"action": action, "_selected_action": [article.pk]})
    published = only(Action.ARTICLE_PUBLISHED)
    check(published, actor=root, organization=None, channel=Channel.ADMIN)
    assert published.target_label == "Connect to the VPN"
    check(only(Action.ARTICLE_UNPUBLISHED), actor=root, organization=None, channel=Channel.ADMIN)

    # The form's "published" box is the same change.
    change = admin_url(Article, "change", article.pk)
    data = form_data(client.get(change))
    data["is_published"] = "on"
    assert client.post(change, data).status_code == 302
    assert AuditEntry.objects.filter(action=Action.ARTICLE_PUBLISHED).count() == 2
    # Saved again, still published: no row.
    assert client.post(change, form_data(client.get(change))).status_code == 302
    assert AuditEntry.objects.filter(action=Action.ARTICLE_PUBLISHED).count() == 2


def test_incidents_created_updated_and_edited_in_the_admin(client: Client, root: User) -> None:
    add = admin_url(Incident, "add")
    data = form_data(client.get(add))
    data.update(
        {"service": Service.objects.get(slug="teams").pk, "impact": "outage", "title": "Down"}
    )
    assert client.post(add, data).status_code == 302
    incident = Incident.objects.get(title="Down")
    created = only(Action.INCIDENT_CHANGED)
    check(created, actor=root, organization=None, channel=Channel.ADMIN)
    assert created.before == {} and created.after["title"] == "Down"

    change = admin_url(Incident, "change", incident.pk)
    data = form_data(client.get(change))
    data.update({"title": "Meetings fail", "updates-0-status": "identified",
                 "updates-0-body": "Found it."})  # fmt: skip
    assert client.post(change, data).status_code == 302
    rows = AuditEntry.objects.filter(action=Action.INCIDENT_CHANGED).order_by("pk")
    assert [(r.before, {k: r.after[k] for k in r.after if k != "update"}) for r in rows[1:]] == [
        ({"title": "Down"}, {"title": "Meetings fail"}),
        ({"status": "investigating"}, {"status": "identified"}),
    ]
    assert all(r.actor == root and r.channel == Channel.ADMIN for r in rows)


# --- SLA policies and calendars ----------------------------------------------------------------


def test_sla_policy_version_drafted_edited_and_published_on_the_desk(
    world: World, client: Client
) -> None:
    from tests.slapolicies.test_views import draft_post

    client.force_login(world.supervisor)
    default = SlaPolicy.objects.default()
    client.post(reverse("slapolicies:version_new", kwargs={"policy": default.pk}))
    draft = SlaPolicyVersion.objects.get(policy=default, published_at__isnull=True)
    url = reverse("slapolicies:version", kwargs={"version": draft.pk})
    assert client.post(url, draft_post(draft, B_technical_first_response="8")).status_code == 302
    review = reverse("slapolicies:review", kwargs={"version": draft.pk})
    assert client.post(review, {"apply_to_open": "0"}).status_code == 302

    changes = AuditEntry.objects.filter(action=Action.SLA_POLICY_CHANGED).order_by("pk")
    assert [r.after["change"] for r in changes] == ["version_drafted", "draft_updated"]
    edited = changes[1]
    check(edited, actor=world.supervisor, organization=None, channel=Channel.DESK)
    assert edited.before["targets"]["B/technical"]["first_response"] == 15 * 3600
    assert edited.after["targets"]["B/technical"]["first_response"] == 8 * 3600
    published = only(Action.SLA_POLICY_PUBLISHED)
    check(published, actor=world.supervisor, organization=None, channel=Channel.DESK)
    assert published.target_id == str(draft.pk)


def test_calendar_changed_on_the_desk_and_in_the_admin(
    world: World, client: Client, root: User
) -> None:
    calendar = Calendar.objects.order_by("pk").first()
    assert calendar is not None
    change = admin_url(Calendar, "change", calendar.pk)
    data = form_data(client.get(change))
    data["name"] = "Support hours (renamed)"
    assert client.post(change, data).status_code == 302
    in_admin = only(Action.CALENDAR_CHANGED)
    check(in_admin, actor=root, organization=None, channel=Channel.ADMIN)
    assert in_admin.after["name"] == "Support hours (renamed)"

    client.force_login(world.supervisor)
    add = reverse("slapolicies:holiday_add", kwargs={"calendar": calendar.pk})
    assert (
        client.post(add, {"holiday-date": "2031-08-18", "holiday-name": "Day"}).status_code == 302
    )
    on_desk = AuditEntry.objects.filter(action=Action.CALENDAR_CHANGED).latest("pk")
    check(on_desk, actor=world.supervisor, organization=None, channel=Channel.DESK)
    assert on_desk.after["change"] == "holiday_added"


# --- Macros -------------------------------------------------------------------------------------


def test_macros_created_changed_and_deleted_in_the_admin(client: Client, root: User) -> None:
    add = admin_url(Macro, "add")
    data = {"name": "Thanks", "language": "en", "body": "Thanks, {requester_name}!",
            "is_active": "on", "position": "0"}  # fmt: skip
    assert client.post(add, data).status_code == 302
    macro = Macro.objects.get(name="Thanks")
    created = only(Action.MACRO_CREATED)
    check(created, actor=root, organization=None, channel=Channel.ADMIN)
    assert created.after["body"] == "Thanks, {requester_name}!"

    change = admin_url(Macro, "change", macro.pk)
    assert client.post(change, {**data, "body": "Thank you!"}).status_code == 302
    changed = only(Action.MACRO_CHANGED)
    assert (changed.before, changed.after) == (
        {"body": "Thanks, {requester_name}!"},
        {"body": "Thank you!"},
    )
    # The list's editable column saves through the same service.
    changelist = admin_url(Macro, "changelist")
    listed = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(macro.pk),
              "form-0-position": "3", "form-0-is_active": "on", "_save": "Save"}  # fmt: skip
    assert client.post(changelist, listed).status_code == 302
    assert AuditEntry.objects.filter(action=Action.MACRO_CHANGED).latest("pk").after == {
        "position": 3
    }

    assert client.post(admin_url(Macro, "delete", macro.pk), {"post": "yes"}).status_code == 302
    deleted = only(Action.MACRO_DELETED)
    check(deleted, actor=root, organization=None, channel=Channel.ADMIN)
    assert deleted.before["body"] == "Thank you!"


# --- Sign-ins and passwords --------------------------------------------------------------------


def test_sign_in_sign_out_and_a_failed_sign_in(world: World, client: Client) -> None:
    person = world.user_a.user
    login = reverse("login")
    failed = client.post(login, {"username": f"  {person.email.upper()} ", "password": "guess"})
    assert failed.status_code == 200
    row = only(Action.SIGNIN_FAILED)
    assert (row.actor, row.actor_label, row.channel) == (None, person.email, Channel.WEB)
    assert "guess" not in str(row.before) + str(row.after) + row.target_label

    assert client.post(login, {"username": person.email, "password": PASSWORD}).status_code == 302
    signed_in = only(Action.SIGNIN)
    # A customer of one organization: their organization's admins see it.
    check(signed_in, actor=person, organization=world.org_a, channel=Channel.WEB)

    assert client.post(reverse("logout")).status_code == 302
    check(only(Action.SIGNOUT), actor=person, organization=world.org_a, channel=Channel.WEB)


def test_password_changed_in_the_admin(world: World, client: Client, root: User) -> None:
    person = world.user_a.user
    url = reverse("admin:auth_user_password_change", args=[person.pk]).replace(
        "auth/user", "tenants/user"
    )
    response = client.post(
        url, {"password1": "a-new-long-pass-42", "password2": "a-new-long-pass-42"}
    )
    assert response.status_code == 302, response.content[:500]
    row = only(Action.PASSWORD_CHANGED)
    check(row, actor=root, organization=world.org_a, channel=Channel.ADMIN)
    assert row.target_label == person.email
    assert "a-new-long-pass-42" not in str(row.before) + str(row.after)


def test_password_reset_by_the_person(world: World, client: Client, mailoutbox: list[Any]) -> None:
    person = world.user_a.user
    client.post(reverse("password_reset"), {"email": person.email})
    link = next(line for line in mailoutbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link[link.index("/accounts/reset/") :].strip()
    form = client.get(path, follow=True)
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-new-long-pass-42", "new_password2": "a-new-long-pass-42"},
    )
    assert response.status_code == 302
    row = only(Action.PASSWORD_CHANGED)
    # Nobody was signed in: the person acted on their own account.
    check(row, actor=person, organization=world.org_a, channel=Channel.WEB)


def test_nothing_is_recorded_for_a_member_added_with_a_refused_role(
    world: World, client: Client, root: User
) -> None:
    person = UserFactory(email="late@alpha.test")
    MembershipFactory(organization=world.org_a, user=person, role=Role.USER)
    response = client.post(
        admin_url(Membership, "add"),
        {"user": person.pk, "organization": world.org_a.pk, "role": Role.USER},
    )
    assert response.status_code == 200  # the form's duplicate error
    assert not AuditEntry.objects.filter(action=Action.MEMBER_ADDED).exists()


def test_times_are_the_moment_of_the_change(world: World, client: Client) -> None:
    import time_machine

    client.force_login(world.admin_a.user)
    url = reverse("portal:settings_api_keys", kwargs={"org": "alpha"})
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        client.post(url, {"name": "Timed", "role": Role.GLOBAL_ADMIN})
    assert only(Action.API_KEY_CREATED).at == T0 + timedelta(minutes=5)


def test_a_known_address_costs_no_query_and_a_new_one_a_few(
    world: World, django_assert_num_queries: Any
) -> None:
    """The hot path: the address check is a cache hit once the key has been seen from an
    address; with a cold cache one indexed lookup; a new address adds its row and the
    audit row (with the savepoint pair of the test's transaction)."""
    from tenants.api_keys import api_key_note_address

    cache.clear()
    key = api_key_create(
        organization=world.org_a, name="hot", role=Role.GLOBAL_ADMIN, created_by=None, now=T0
    ).credential
    with django_assert_num_queries(5):  # lookup, savepoint, address, audit row, release
        assert api_key_note_address(key=key, ip="198.51.100.7", now=T0) is True
    with django_assert_num_queries(0):
        assert api_key_note_address(key=key, ip="198.51.100.7", now=T0) is False
    cache.clear()
    with django_assert_num_queries(1):
        assert api_key_note_address(key=key, ip="198.51.100.7", now=T0) is False


def test_an_organization_deleted_in_the_admin_keeps_its_name_in_the_trail(
    world: World, client: Client, root: User
) -> None:
    gone = Organization.objects.create(name="Gone Ltd", slug="gone")
    response = client.post(admin_url(Organization, "delete", gone.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Organization.objects.filter(slug="gone").exists()
    row = only(Action.ORGANIZATION_CHANGED)
    assert (row.actor, row.channel, row.organization_id) == (root, Channel.ADMIN, None)
    assert (row.target_label, row.after) == ("Gone Ltd", {"deleted": True})


def test_agent_tokens_issued_and_revoked_in_the_admin(
    world: World, client: Client, root: User
) -> None:
    from tenants.credentials import AgentToken

    add = admin_url(AgentToken, "add")
    assert client.post(add, {"user": world.agent.pk, "name": "softphone"}).status_code == 302
    token = AgentToken.objects.get(user=world.agent)
    issued = only(Action.AGENT_TOKEN_CREATED)
    check(issued, actor=root, organization=None, channel=Channel.ADMIN)
    assert issued.after == {"agent": world.agent.email, "name": "softphone",
                            "prefix": token.prefix}  # fmt: skip
    changelist = admin_url(AgentToken, "changelist")
    for _ in range(2):
        client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    check(only(Action.AGENT_TOKEN_REVOKED), actor=root, organization=None, channel=Channel.ADMIN)
