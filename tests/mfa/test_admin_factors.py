"""Second factors in the Django admin: view and delete only, every removal audited
(alone or in bulk), and the user admin's "Reset second factors" for staff who lost theirs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.actions import Action, Channel
from audit.models import AuditEntry
from mfa import services
from tenants.models import User
from tests.conftest import World
from tests.factories import AgentFactory, MembershipFactory, SupervisorFactory, UserFactory
from tests.mfa_support import TEST_APP_KEY

pytestmark = pytest.mark.django_db


def _url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _app(user: User, name: str = "Phone") -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name=name, key=TEST_APP_KEY, confirmed=True)


def _passkey(user: User, name: str = "Laptop") -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user,
        name=name,
        confirmed=True,
        credential_id=f"id-{user.pk}-{name}".encode(),
        credential_id_sha256=f"{user.pk:032d}{abs(hash(name)) % 10**32:032d}",
        public_key=b"public",
    )


def _recovery(user: User) -> StaticDevice:
    device = StaticDevice.objects.create(
        user=user, name=services.RECOVERY_DEVICE_NAME, confirmed=True
    )
    StaticToken.objects.create(device=device, token="abcdefghjk")
    return device


def _removed(owner: User) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            action=Action.MFA_REMOVED, target_type="tenants.user", target_id=str(owner.pk)
        ).order_by("pk")
    )


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("root@provider.test", "a-long-test-password")


@pytest.fixture
def root(client: Client, superuser: User) -> Client:
    client.force_login(superuser)  # enrolled and verified (tests.django_plugin)
    return client


@pytest.mark.parametrize(
    ("make", "kind"),
    [(_app, "app"), (_passkey, "passkey"), (_recovery, "recovery-codes")],
)
def test_deleting_a_factor_in_the_admin_is_audited(root, superuser, make, kind) -> None:
    owner = AgentFactory()
    membership = MembershipFactory(user=UserFactory())
    customer = membership.user
    for person in (owner, customer):
        device = make(person)
        model = type(device)
        assert root.get(_url(model, "delete", device.pk)).status_code == 200

        response = root.post(_url(model, "delete", device.pk), {"post": "yes"})

        assert response.status_code == 302
        assert not model.objects.filter(pk=device.pk).exists()
        [row] = _removed(person)
        assert row.actor == superuser
        assert row.channel == Channel.ADMIN
        assert row.before == {"kind": kind, "name": device.name}
        assert row.target_label == person.email
    # A customer's factor is recorded in their organization's trail; staff's in none.
    assert _removed(owner)[0].organization_id is None
    assert _removed(customer)[0].organization_id == membership.organization_id


def test_the_last_app_takes_the_recovery_codes_with_it(root) -> None:
    owner = AgentFactory()
    app = _app(owner)
    recovery = _recovery(owner)

    root.post(_url(TOTPDevice, "delete", app.pk), {"post": "yes"})

    assert not StaticDevice.objects.filter(pk=recovery.pk).exists()
    [row] = _removed(owner)
    assert row.after == {"recovery_codes_removed": True}


def test_bulk_delete_writes_a_row_per_factor(root, superuser) -> None:
    first, second = AgentFactory(), AgentFactory()
    apps = [_app(first, "One"), _app(first, "Two"), _app(second, "Three")]
    selected = {"action": "delete_selected", "_selected_action": [d.pk for d in apps]}

    confirm = root.post(_url(TOTPDevice, "changelist"), selected)
    assert confirm.status_code == 200  # the confirmation page
    done = root.post(_url(TOTPDevice, "changelist"), {**selected, "post": "yes"})

    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(pk__in=[d.pk for d in apps]).exists()
    rows = _removed(first) + _removed(second)
    assert sorted(r.before["name"] for r in rows) == ["One", "Three", "Two"]
    assert {(r.actor_id, r.channel) for r in rows} == {(superuser.pk, Channel.ADMIN)}


def test_own_factor_is_not_removed_in_the_admin(root, superuser) -> None:
    own = TOTPDevice.objects.get(user=superuser)

    response = root.post(_url(TOTPDevice, "delete", own.pk), {"post": "yes"}, follow=True)

    assert TOTPDevice.objects.filter(pk=own.pk).exists()
    assert str(services.ERR_OWN_FACTORS) in [str(m) for m in response.context["messages"]]
    assert _removed(superuser) == []


@pytest.mark.parametrize("make", [_app, _passkey, _recovery])
def test_factors_cannot_be_added_or_changed_in_the_admin(root, make) -> None:
    device = make(AgentFactory())
    model = type(device)

    assert root.get(_url(model, "add")).status_code == 403
    page = root.get(_url(model, "change", device.pk))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="_save"' not in body
    if isinstance(device, TOTPDevice):
        assert TEST_APP_KEY not in body  # the key stays hidden
    if isinstance(device, StaticDevice):
        assert "abcdefghjk" not in body  # and so do the recovery codes
    assert root.post(_url(model, "change", device.pk), {"name": "Renamed"}).status_code == 403
    device.refresh_from_db()
    assert device.name != "Renamed"


# --- Reset second factors -------------------------------------------------------------------


def _reset(client: Client, *users: User) -> object:
    return client.post(
        _url(User, "changelist"),
        {"action": "reset_second_factors", "_selected_action": [u.pk for u in users]},
        follow=True,
    )


def test_reset_removes_every_factor_and_sends_the_person_to_enrolment(root, superuser) -> None:
    agent = AgentFactory()
    agent_client = Client()
    agent_client.force_login(agent)  # given an app and verified
    assert agent_client.get("/desk/").status_code == 200
    _passkey(agent)
    _recovery(agent)

    response = _reset(root, agent)

    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=agent).exists()
    assert not WebAuthnCredential.objects.filter(user=agent).exists()
    assert not StaticDevice.objects.filter(user=agent).exists()
    rows = _removed(agent)
    assert sorted(r.before["kind"] for r in rows) == ["app", "passkey", "recovery-codes"]
    assert all(r.after == {"reset": True} for r in rows)
    assert {(r.actor_id, r.channel) for r in rows} == {(superuser.pk, Channel.ADMIN)}
    # The session verified with the removed app no longer counts: enrol again.
    desk = agent_client.get("/desk/")
    assert desk.status_code == 302
    assert desk["Location"].startswith(reverse("mfa:security"))


def test_resetting_yourself_is_refused(root, superuser) -> None:
    other = AgentFactory()
    _app(other)

    response = _reset(root, other, superuser)

    # All or nothing: the other person's factors stay too.
    assert TOTPDevice.objects.filter(user=superuser).exists()
    assert TOTPDevice.objects.filter(user=other).exists()
    assert str(services.ERR_OWN_FACTORS) in [str(m) for m in response.context["messages"]]
    assert not AuditEntry.objects.filter(action=Action.MFA_REMOVED).exists()


def test_a_supervisor_resets_an_agent_but_not_a_superuser(client, world: World) -> None:
    supervisor = SupervisorFactory()
    supervisor.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="tenants", codename__in=["view_user", "change_user"]
        )
    )
    agent, root_user = AgentFactory(), User.objects.create_superuser("r@p.test", "pw-long-1234")
    _app(agent)
    _app(root_user)
    client.force_login(supervisor)

    refused = _reset(client, root_user)
    assert str(services.ERR_RESET_SUPERUSER) in [str(m) for m in refused.context["messages"]]
    assert TOTPDevice.objects.filter(user=root_user).exists()

    _reset(client, agent)
    assert not TOTPDevice.objects.filter(user=agent).exists()
    [row] = _removed(agent)
    assert row.actor == supervisor


def test_an_agent_without_admin_access_gets_no_reset(client) -> None:
    agent, other = AgentFactory(), AgentFactory()
    _app(other)
    client.force_login(agent)

    response = _reset(client, other)

    assert response.status_code in (302, 403) or response.redirect_chain
    assert TOTPDevice.objects.filter(user=other).exists()
