"""Organization settings → members and roles (issue 6, item 7): global admins only
(POL-WHO-2 default), audited, and never without a global admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.models import Membership, MembershipAction, MembershipChange, Role
from tenants.services import (
    ERR_LAST_GLOBAL_ADMIN,
    ERR_NOT_GLOBAL_ADMIN_MEMBERS,
    MembershipError,
    membership_change_role,
    membership_remove,
)
from tests.conftest import World
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _url(name: str, org: str = "alpha", **kwargs: Any) -> str:
    return reverse(f"portal:{name}", kwargs={"org": org, **kwargs})


def test_global_admins_see_members_with_roles(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    response = client.get(_url("settings_members"))
    assert response.status_code == 200
    body = response.content.decode()
    assert world.admin_a.user.email in body and world.user_a.user.email in body
    assert world.admin_b.user.email not in body
    home = client.get(_url("home")).content.decode()
    assert _url("settings_members") in home


def test_other_admins_are_told_who_can_and_plain_users_ask_their_admin(
    world: World, client: Client
) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    client.force_login(billing.user)
    for url in (
        _url("settings_members"),
        _url("settings_member", member=world.user_a.pk),
        _url("settings_member_remove", member=world.user_a.pk),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert str(ERR_NOT_GLOBAL_ADMIN_MEMBERS) in response.content.decode()
    client.post(_url("settings_member", member=world.user_a.pk), {"role": Role.GLOBAL_ADMIN})
    client.post(_url("settings_member_remove", member=world.user_a.pk))
    world.user_a.refresh_from_db()
    assert world.user_a.role == Role.USER
    assert _url("settings_members") not in client.get(_url("home")).content.decode()
    client.force_login(world.user_a.user)
    response = client.get(_url("settings_members"))
    assert "portal/ask_admin.html" in [t.name for t in response.templates]


def test_changing_a_role_is_audited(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    response = client.post(
        _url("settings_member", member=world.user_a.pk), {"role": Role.SERVICE_SUPPORT_ADMIN}
    )
    assert response.status_code == 302
    world.user_a.refresh_from_db()
    assert world.user_a.role == Role.SERVICE_SUPPORT_ADMIN
    change = MembershipChange.objects.get()
    assert (change.action, change.role_before, change.role_after) == (
        MembershipAction.ROLE_CHANGED,
        Role.USER,
        Role.SERVICE_SUPPORT_ADMIN,
    )
    assert (change.actor, change.member, change.organization) == (
        world.admin_a.user,
        world.user_a.user,
        world.org_a,
    )
    bad = client.post(_url("settings_member", member=world.user_a.pk), {"role": "emperor"})
    assert bad.status_code == 200 and bad.context["form"].errors["role"]


def test_the_last_global_admin_cannot_step_down_or_leave(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    demote = client.post(_url("settings_member", member=world.admin_a.pk), {"role": Role.USER})
    assert demote.context["form"].errors["role"] == [str(ERR_LAST_GLOBAL_ADMIN)]
    leave = client.post(_url("settings_member_remove", member=world.admin_a.pk))
    assert leave.status_code == 400
    assert str(ERR_LAST_GLOBAL_ADMIN) in leave.content.decode()
    world.admin_a.refresh_from_db()
    assert world.admin_a.role == Role.GLOBAL_ADMIN
    assert not MembershipChange.objects.exists()
    # With a second global admin, the first may step down.
    MembershipFactory(organization=world.org_a, role=Role.GLOBAL_ADMIN)
    client.post(_url("settings_member", member=world.admin_a.pk), {"role": Role.BILLING_ADMIN})
    world.admin_a.refresh_from_db()
    assert world.admin_a.role == Role.BILLING_ADMIN


def test_removing_a_member_keeps_their_account(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    confirm = client.get(_url("settings_member_remove", member=world.user_a.pk))
    assert confirm.status_code == 200
    response = client.post(_url("settings_member_remove", member=world.user_a.pk))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=world.user_a.pk).exists()
    world.user_a.user.refresh_from_db()  # the account stays
    change = MembershipChange.objects.get()
    assert (change.action, change.member_label) == (
        MembershipAction.REMOVED,
        world.user_a.user.email,
    )


def test_another_tenants_members_are_not_found(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    for url in (
        _url("settings_member", member=world.admin_b.pk),
        _url("settings_member_remove", member=world.admin_b.pk),
        _url("settings_members", org="bravo"),
        _url("settings_member", member="9" * 25),
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, {"role": Role.USER}).status_code == 404
    world.admin_b.refresh_from_db()
    assert world.admin_b.role == Role.GLOBAL_ADMIN


def test_the_services_refuse_a_stranger_and_a_membership_of_another_tenant(world: World) -> None:
    now = timezone.now()
    with pytest.raises(MembershipError):
        membership_change_role(
            organization=world.org_a, actor_membership=world.user_a, member_id=world.user_a.pk,
            role=Role.GLOBAL_ADMIN, now=now,
        )  # fmt: skip
    with pytest.raises(MembershipError):
        membership_remove(
            organization=world.org_a, actor_membership=world.admin_b, member_id=world.user_a.pk,
            now=now,
        )  # fmt: skip
    with pytest.raises(MembershipError) as gone:
        membership_remove(
            organization=world.org_a, actor_membership=world.admin_a, member_id=world.admin_b.pk,
            now=now,
        )  # fmt: skip
    assert gone.value.code == "not_found"
    assert Membership.objects.count() == 3
