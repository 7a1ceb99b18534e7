"""The Django admin writes members, roles, registered contacts and credentials through the
same services as the portal (issue 13, item 4): every change leaves its audit row (and,
for contacts, the notice and the 48-hour cool-off), a refused change changes nothing, and
a contact's ``active_from`` cannot be edited.

Endpoint tier: a signed-in supervisor with the Django permissions the admin needs posts
the admin's own forms and actions over the test client.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.core import mail
from django.test import Client

from core.refusals import Refused
from tenants.credentials import AgentToken, ApiKey
from tenants.models import (
    CONTACT_COOL_OFF,
    ContactAction,
    ContactChange,
    Membership,
    MembershipAction,
    MembershipChange,
    Organization,
    RegisteredEmail,
    RegisteredPhone,
    Role,
    User,
)
from tenants.services import (
    ERR_DUPLICATE_EMAIL,
    ERR_INVALID_PHONE,
    ERR_LAST_GLOBAL_ADMIN_STAFF,
    ERR_NOT_PROVIDER_STAFF,
    contact_phone_add_by_staff,
    contact_remove_by_staff,
    membership_change_role_by_staff,
)
from tests.admin_forms import admin_url, form_data, grant
from tests.conftest import T0, World
from tests.factories import MembershipFactory, UserFactory
from verification.messages import KIND_HEADER

pytestmark = pytest.mark.django_db

OLD_EMAIL = "it-desk@alpha.test"
NEW_PHONE_E164 = "+48600100200"
# An attempt to skip the cool-off: a contact that would receive codes at once.
BACKDATED = {"active_from_0": "2020-01-01", "active_from_1": "00:00:00"}


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(T0, tick=False):
        yield


@pytest.fixture
def supervisor(world: World, client: Client, frozen: None) -> User:
    """The world's supervisor with the admin rights the seed gives supervisors here."""
    grant(
        world.supervisor,
        *(
            f"tenants.{action}_{model}"
            for model in ("organization", "membership", "registeredphone", "registeredemail")
            for action in ("view", "add", "change")
        ),
        "tenants.delete_membership",
        "tenants.delete_registeredphone",
        "tenants.delete_registeredemail",
        "tenants.view_user",
        "tenants.view_apikey",
        "tenants.change_apikey",
        "tenants.view_agenttoken",
        "tenants.add_agenttoken",
        "tenants.change_agenttoken",
    )
    client.force_login(world.supervisor)
    return world.supervisor


@pytest.fixture
def old_email(world: World) -> RegisteredEmail:
    return RegisteredEmail.objects.create(
        organization=world.org_a,
        email=OLD_EMAIL,
        created_at=T0 - timedelta(days=30),
        active_from=T0 - timedelta(days=28),
    )


def notices() -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.extra_headers.get(KIND_HEADER) == "contacts-changed"]


def readers() -> set[str]:
    return {address for m in notices() for address in m.to}


def post(
    client: Client, url: str, data: dict[str, Any], capture: Any, *, follow: bool = False
) -> Any:
    """POST as the browser does; the notices go out when the admin's transaction commits."""
    with capture(execute=True):
        return client.post(url, data, follow=follow)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Registered contacts ---------------------------------------------------------------------


def test_a_phone_added_in_the_admin_cools_off_is_audited_and_told(
    world: World,
    supervisor: User,
    client: Client,
    old_email: RegisteredEmail,
    django_capture_on_commit_callbacks: Any,
) -> None:
    response = post(
        client,
        admin_url(RegisteredPhone, "add"),
        # A national number is read with the organization's country, as in the portal.
        {"organization": world.org_a.pk, "number": "600 100 200", "label": "Night shift"}
        | BACKDATED,
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 302
    phone = RegisteredPhone.objects.get(organization=world.org_a)
    assert str(phone.number) == NEW_PHONE_E164
    assert (phone.created_at, phone.active_from) == (T0, T0 + CONTACT_COOL_OFF)
    change = ContactChange.objects.get(organization=world.org_a)
    assert (change.action, change.actor, change.masked_value) == (
        ContactAction.PHONE_ADDED,
        supervisor,
        "+48 *** *** 200",
    )
    assert readers() == {OLD_EMAIL, world.admin_a.user.email}
    assert "told by e-mail" in ContactChange.objects.get(pk=change.pk).outcome
    assert LogEntry.objects.filter(user=supervisor, object_id=str(phone.pk)).exists()


def test_an_email_added_in_the_admin_goes_through_the_same_service(
    world: World, supervisor: User, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    response = post(
        client,
        admin_url(RegisteredEmail, "add"),
        {"organization": world.org_a.pk, "email": " New.CFO@Alpha.test ", "label": ""} | BACKDATED,
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 302
    registered = RegisteredEmail.objects.get(organization=world.org_a)
    assert registered.email == "new.cfo@alpha.test"
    assert registered.active_from == T0 + CONTACT_COOL_OFF
    assert ContactChange.objects.get().action == ContactAction.EMAIL_ADDED
    # The new address is not told: it did not exist before the change.
    assert readers() == {world.admin_a.user.email}


def test_a_refused_contact_changes_nothing(
    world: World,
    supervisor: User,
    client: Client,
    old_email: RegisteredEmail,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bad_number = post(
        client,
        admin_url(RegisteredPhone, "add"),
        {"organization": world.org_a.pk, "number": "+48 123", "label": ""},
        django_capture_on_commit_callbacks,
    )
    duplicate = post(
        client,
        admin_url(RegisteredEmail, "add"),
        {"organization": world.org_a.pk, "email": OLD_EMAIL.upper(), "label": ""},
        django_capture_on_commit_callbacks,
    )

    assert bad_number.status_code == duplicate.status_code == 200
    assert bad_number.context["adminform"].form.errors["number"] == [str(ERR_INVALID_PHONE)]
    assert duplicate.context["adminform"].form.errors["email"] == [str(ERR_DUPLICATE_EMAIL)]
    assert not RegisteredPhone.objects.exists()
    assert list(RegisteredEmail.objects.all()) == [old_email]
    assert not ContactChange.objects.exists()
    assert notices() == []


def test_active_from_is_not_in_any_admin_form_and_cannot_be_posted(
    world: World, supervisor: User, client: Client, old_email: RegisteredEmail
) -> None:
    change_url = admin_url(RegisteredEmail, "change", old_email.pk)

    add_form = client.get(admin_url(RegisteredPhone, "add")).context["adminform"].form
    change_page = client.get(change_url)
    posted = client.post(
        change_url,
        {"organization": world.org_a.pk, "email": OLD_EMAIL, "label": "x"} | BACKDATED,
    )
    # The organization's page lists its contacts read-only; a row posted back anyway
    # with another date is ignored.
    organization_url = admin_url(Organization, "change", world.org_a.pk)
    organization_page = client.get(organization_url)
    data = form_data(organization_page)
    data["registered_emails-0-active_from_0"] = "2020-01-01"
    data["registered_emails-0-label"] = "x"
    posted_inline = client.post(organization_url, data)

    assert "active_from" not in add_form.fields
    assert change_page.status_code == 200
    assert "active_from" not in change_page.context["adminform"].form.fields
    assert b'name="_save"' not in change_page.content
    assert posted.status_code == 403
    (emails,) = [
        inline
        for inline in organization_page.context["inline_admin_formsets"]
        if inline.formset.model is RegisteredEmail
    ]
    assert not emails.has_change_permission and not emails.has_add_permission
    assert b'name="registered_emails-0-active_from_0"' not in organization_page.content
    assert posted_inline.status_code == 302
    old_email.refresh_from_db()
    assert (old_email.active_from, old_email.label) == (T0 - timedelta(days=28), "")
    assert not ContactChange.objects.exists()


def test_a_contact_removed_in_the_admin_is_audited_and_told(
    world: World,
    supervisor: User,
    client: Client,
    old_email: RegisteredEmail,
    django_capture_on_commit_callbacks: Any,
) -> None:
    phone = RegisteredPhone.objects.create(organization=world.org_a, number=NEW_PHONE_E164)

    single = post(
        client,
        admin_url(RegisteredEmail, "delete", old_email.pk),
        {"post": "yes"},
        django_capture_on_commit_callbacks,
    )
    bulk = post(
        client,
        admin_url(RegisteredPhone, "changelist"),
        {"action": "delete_selected", "_selected_action": [phone.pk], "post": "yes"},
        django_capture_on_commit_callbacks,
    )

    assert single.status_code == bulk.status_code == 302
    assert not RegisteredEmail.objects.exists() and not RegisteredPhone.objects.exists()
    changes = ContactChange.objects.order_by("pk")
    assert [(c.action, c.actor) for c in changes] == [
        (ContactAction.EMAIL_REMOVED, supervisor),
        (ContactAction.PHONE_REMOVED, supervisor),
    ]
    # The removed address is told too; both changes reach the global admin.
    assert readers() == {OLD_EMAIL, world.admin_a.user.email}
    assert len(notices()) == 3
    assert LogEntry.objects.filter(user=supervisor, action_flag=DELETION).count() == 2


# --- Members and roles -----------------------------------------------------------------------


def test_a_role_changed_in_the_admin_is_audited(
    world: World, supervisor: User, client: Client
) -> None:
    response = client.post(
        admin_url(Membership, "change", world.user_a.pk), {"role": Role.BILLING_ADMIN}
    )

    assert response.status_code == 302
    world.user_a.refresh_from_db()
    assert world.user_a.role == Role.BILLING_ADMIN
    change = MembershipChange.objects.get()
    assert (change.action, change.actor, change.member) == (
        MembershipAction.ROLE_CHANGED,
        supervisor,
        world.user_a.user,
    )
    assert (change.role_before, change.role_after) == (Role.USER, Role.BILLING_ADMIN)


def test_the_last_global_admin_is_not_demoted_or_removed_in_the_admin(
    world: World, supervisor: User, client: Client
) -> None:
    change_url = admin_url(Membership, "change", world.admin_a.pk)

    demoted = client.post(change_url, {"role": Role.USER}, follow=True)
    removed = client.post(admin_url(Membership, "delete", world.admin_a.pk), {"post": "yes"})
    bulk = client.post(
        admin_url(Membership, "changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [world.user_a.pk, world.admin_a.pk],
            "post": "yes",
        },
        follow=True,
    )

    assert demoted.status_code == 200
    assert str(ERR_LAST_GLOBAL_ADMIN_STAFF) in messages_of(demoted)
    assert removed.status_code == 302
    assert str(ERR_LAST_GLOBAL_ADMIN_STAFF) in messages_of(bulk)
    # All or nothing: the plain user of the same bulk removal is still a member too.
    assert set(Membership.objects.filter(organization=world.org_a)) == {
        world.admin_a,
        world.user_a,
    }
    world.admin_a.refresh_from_db()
    assert world.admin_a.role == Role.GLOBAL_ADMIN
    assert not MembershipChange.objects.exists()
    assert not LogEntry.objects.filter(action_flag__in=[CHANGE, DELETION]).exists()


def test_members_removed_and_added_in_the_admin(
    world: World, supervisor: User, client: Client
) -> None:
    newcomer = UserFactory(email="newcomer@alpha.test")

    removed = client.post(admin_url(Membership, "delete", world.user_a.pk), {"post": "yes"})
    added = client.post(
        admin_url(Membership, "add"),
        {"user": newcomer.pk, "organization": world.org_a.pk, "role": Role.SERVICE_SUPPORT_ADMIN},
    )
    again = client.post(
        admin_url(Membership, "add"),
        {"user": newcomer.pk, "organization": world.org_a.pk, "role": Role.USER},
    )

    assert removed.status_code == added.status_code == 302
    assert not Membership.objects.filter(pk=world.user_a.pk).exists()
    assert User.objects.filter(pk=world.user_a.user.pk).exists()  # the account stays
    removal, addition = MembershipChange.objects.order_by("pk")
    assert (removal.action, removal.actor, removal.member_label) == (
        MembershipAction.REMOVED,
        supervisor,
        world.user_a.user.email,
    )
    assert (addition.action, addition.actor, addition.member_label) == (
        MembershipAction.ADDED,
        supervisor,
        newcomer.email,
    )
    assert (addition.role_before, addition.role_after) == ("", Role.SERVICE_SUPPORT_ADMIN)
    member = Membership.objects.get(user=newcomer)
    assert (member.organization, member.role) == (world.org_a, Role.SERVICE_SUPPORT_ADMIN)
    assert again.status_code == 200  # already a member: the form says so
    assert Membership.objects.filter(user=newcomer).count() == 1


def test_the_organization_page_hands_the_global_admin_role_over_through_the_service(
    world: World, supervisor: User, client: Client
) -> None:
    url = admin_url(Organization, "change", world.org_a.pk)
    data = form_data(client.get(url))
    rows = {
        data[f"memberships-{index}-id"]: index
        for index in range(int(data["memberships-TOTAL_FORMS"]))
    }
    admin_row, user_row = rows[world.admin_a.pk], rows[world.user_a.pk]
    # In one submit: the admin steps down while the user becomes the global admin.
    data[f"memberships-{admin_row}-role"] = Role.USER
    data[f"memberships-{user_row}-role"] = Role.GLOBAL_ADMIN

    response = client.post(url, data)

    assert response.status_code == 302
    world.admin_a.refresh_from_db()
    world.user_a.refresh_from_db()
    assert (world.admin_a.role, world.user_a.role) == (Role.USER, Role.GLOBAL_ADMIN)
    changes = MembershipChange.objects.order_by("pk")
    assert [(c.member, c.role_after, c.actor) for c in changes] == [
        (world.user_a.user, Role.GLOBAL_ADMIN, supervisor),
        (world.admin_a.user, Role.USER, supervisor),
    ]


def test_the_organization_page_refuses_leaving_no_global_admin(
    world: World, supervisor: User, client: Client
) -> None:
    url = admin_url(Organization, "change", world.org_a.pk)
    data = form_data(client.get(url))
    data["name"] = "Alpha Renamed"
    for index in range(int(data["memberships-TOTAL_FORMS"])):
        if data[f"memberships-{index}-id"] == world.admin_a.pk:
            data[f"memberships-{index}-DELETE"] = "on"

    response = client.post(url, data, follow=True)

    assert str(ERR_LAST_GLOBAL_ADMIN_STAFF) in messages_of(response)
    world.org_a.refresh_from_db()
    assert world.org_a.name == "Alpha Corp"  # the whole submit was rolled back
    assert Membership.objects.filter(pk=world.admin_a.pk).exists()
    assert not MembershipChange.objects.exists()


def test_a_user_page_changes_memberships_through_the_service(
    world: World, supervisor: User, client: Client
) -> None:
    grant(supervisor, "tenants.change_user")
    second = MembershipFactory(user=world.user_a.user, organization=world.org_b, role=Role.USER)
    url = admin_url(User, "change", world.user_a.user.pk)
    data = form_data(client.get(url))
    for index in range(int(data["memberships-TOTAL_FORMS"])):
        if data[f"memberships-{index}-id"] == second.pk:
            data[f"memberships-{index}-role"] = Role.BILLING_ADMIN

    response = client.post(url, data)

    assert response.status_code == 302
    second.refresh_from_db()
    assert second.role == Role.BILLING_ADMIN
    change = MembershipChange.objects.get()
    assert (change.organization, change.actor) == (world.org_b, supervisor)


# --- Credentials -----------------------------------------------------------------------------


@pytest.fixture
def credentials(world: World) -> tuple[ApiKey, AgentToken]:
    key = ApiKey.objects.create(
        organization=world.org_a, name="crm", role=Role.GLOBAL_ADMIN, prefix="sdk_aaaaaaaa"
    )
    token = AgentToken.objects.create(user=world.agent, name="softphone", prefix="sdt_bbbbbbbb")
    return key, token


def test_revoking_in_the_admin_goes_through_the_service_and_is_logged(
    supervisor: User, client: Client, credentials: tuple[ApiKey, AgentToken]
) -> None:
    key, token = credentials

    for model, credential in ((ApiKey, key), (AgentToken, token)):
        response = client.post(
            admin_url(model, "changelist"),
            {"action": "revoke", "_selected_action": [credential.pk]},
        )
        assert response.status_code == 302
        credential.refresh_from_db()
        assert credential.revoked_at == T0
        entry = LogEntry.objects.get(
            content_type__model=model._meta.model_name, object_id=str(credential.pk)
        )
        assert (entry.user, entry.change_message) == (supervisor, "Revoked.")


def test_credentials_are_not_edited_or_deleted_in_the_admin(
    supervisor: User, client: Client, credentials: tuple[ApiKey, AgentToken]
) -> None:
    key, token = credentials

    for model, credential in ((ApiKey, key), (AgentToken, token)):
        page = client.get(admin_url(model, "change", credential.pk))
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        changed = client.post(admin_url(model, "change", credential.pk), {"name": "x"})
        deleted = client.post(admin_url(model, "delete", credential.pk), {"post": "yes"})
        assert changed.status_code == deleted.status_code == 403
    assert ApiKey.objects.get(pk=key.pk).name == "crm"
    assert AgentToken.objects.get(pk=token.pk).name == "softphone"


def test_only_staff_who_may_change_a_credential_can_revoke_it(
    world: World, client: Client, frozen: None, credentials: tuple[ApiKey, AgentToken]
) -> None:
    key, _token = credentials
    viewer = grant(world.supervisor, "tenants.view_apikey")
    client.force_login(viewer)
    url = admin_url(ApiKey, "changelist")

    page = client.get(url)
    client.post(url, {"action": "revoke", "_selected_action": [key.pk]})

    assert page.status_code == 200
    assert b'value="revoke"' not in page.content
    key.refresh_from_db()
    assert key.revoked_at is None


# --- Services: provider staff only -------------------------------------------------------------


def test_the_staff_services_refuse_anyone_without_admin_access(
    world: World, old_email: RegisteredEmail
) -> None:
    customer = world.admin_a.user  # a global admin, but not provider staff

    with pytest.raises(Refused) as added:
        contact_phone_add_by_staff(
            organization=world.org_a, staff=customer, number=NEW_PHONE_E164, label="", now=T0
        )
    with pytest.raises(Refused) as removed:
        contact_remove_by_staff(contact=old_email, staff=customer, now=T0)
    with pytest.raises(Refused) as demoted:
        membership_change_role_by_staff(
            member=world.user_a, role=Role.GLOBAL_ADMIN, staff=customer, now=T0
        )

    assert added.value.code == removed.value.code == demoted.value.code == "forbidden"
    assert str(added.value) == str(ERR_NOT_PROVIDER_STAFF)
    assert not RegisteredPhone.objects.exists()
    assert RegisteredEmail.objects.filter(pk=old_email.pk).exists()
    world.user_a.refresh_from_db()
    assert world.user_a.role == Role.USER
    assert not ContactChange.objects.exists() and not MembershipChange.objects.exists()
