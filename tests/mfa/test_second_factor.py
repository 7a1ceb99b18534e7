"""Second factors end to end through the test client: enrolment, the second step of
signing in, throttling, recovery codes, removal, and the enforcement of mfa.middleware
on the desk, the desk's API, the Django admin and the portals that require it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.actions import Action
from audit.models import AuditEntry
from mfa import services
from mfa.middleware import MSG_ENROL_ADMIN, MSG_ENROL_STAFF
from tenants.models import Role, User
from tests.conftest import World
from tests.factories import PASSWORD, AgentFactory, MembershipFactory
from tests.mfa_support import app_code, force_login_password_only, give_app

pytestmark = pytest.mark.django_db


def _audit(action: str, user: User) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, actor=user))


def _password_step(client: Client, user: User, next_url: str = "") -> object:
    data = {"username": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


# --- Enrolment ------------------------------------------------------------------------------


def test_an_agent_adds_an_authenticator_app(client: Client) -> None:
    agent = AgentFactory()
    force_login_password_only(client, agent)
    page = client.get("/accounts/security/app/?next=/desk/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and "<img" not in body  # drawn inline, nothing fetched
    key = client.session["mfa_pending_app_key"]
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7 ]+)<', body)
    assert secret is not None and len(secret.group(1).replace(" ", "")) == 32

    wrong = client.post("/accounts/security/app/", {"code": "000000", "next": "/desk/"})
    assert wrong.status_code == 400
    assert escape(str(services.ERR_WRONG_SETUP_CODE)) in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=agent).exists()

    code = f"{TOTP(bytes.fromhex(key)).token():06d}"
    added = client.post(
        "/accounts/security/app/", {"code": code, "name": "Work phone", "next": "/desk/"}
    )
    assert added.status_code == 302
    assert added["Location"] == "/accounts/security/?next=%2Fdesk%2F"
    device = TOTPDevice.objects.get(user=agent)
    assert device.confirmed and device.name == "Work phone"
    [row] = _audit(Action.MFA_ADDED, agent)
    assert row.after == {"kind": "app", "name": "Work phone"}
    # The session that added the first factor has passed it: the desk opens.
    assert client.get("/desk/").status_code == 200
    # The code used to confirm cannot be used again to sign in.
    assert not device.verify_token(int(code))


def test_the_security_page_is_for_everyone_signed_in(world: World, client: Client) -> None:
    client.force_login(world.user_a.user)
    page = client.get("/accounts/security/")
    assert page.status_code == 200
    assert "Add an authenticator app" in page.content.decode()
    client.logout()
    assert client.get("/accounts/security/").status_code == 302


# --- The second step of signing in ----------------------------------------------------------


def test_sign_in_asks_for_the_code_and_keeps_next(world: World, client: Client) -> None:
    device = give_app(world.agent)
    answer = _password_step(client, world.agent, next_url="/desk/?q=vpn")
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/verify/?next=%2Fdesk%2F%3Fq%3Dvpn"
    # Until the code, the desk sends back to the second step.
    desk = client.get("/desk/")
    assert desk.status_code == 302 and desk["Location"].startswith("/accounts/verify/")
    verified = client.post("/accounts/verify/", {"code": app_code(device), "next": "/desk/?q=vpn"})
    assert verified.status_code == 302 and verified["Location"] == "/desk/?q=vpn"
    assert client.get("/desk/").status_code == 200


def test_next_to_another_site_is_dropped(world: World, client: Client) -> None:
    device = give_app(world.agent)
    force_login_password_only(client, world.agent)
    answer = client.post(
        "/accounts/verify/", {"code": app_code(device), "next": "https://evil.example/"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/"


def test_customers_without_a_factor_skip_the_second_step(world: World, client: Client) -> None:
    answer = _password_step(client, world.admin_a.user)
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert client.get("/portal/alpha/").status_code == 200


def test_a_customer_with_a_factor_passes_it_everywhere(world: World, client: Client) -> None:
    give_app(world.user_a.user)
    force_login_password_only(client, world.user_a.user)
    portal = client.get("/portal/alpha/")
    assert portal.status_code == 302 and portal["Location"].startswith("/accounts/verify/")
    api = client.get("/api/v1/tickets/")
    assert api.status_code == 403
    assert api.json()["code"] == "second_factor_required"
    # Adding another factor first would defeat the one they have.
    assert client.get("/accounts/security/app/").status_code == 302


@time_machine.travel("2026-06-10 10:00:05Z", tick=False)
def test_wrong_codes_are_throttled(world: World, client: Client) -> None:
    device = give_app(world.agent)
    force_login_password_only(client, world.agent)
    first = client.post("/accounts/verify/", {"code": "123456"})
    assert first.status_code == 400
    assert escape(str(services.ERR_WRONG_CODE)) in first.content.decode()
    # At once again: the factor is locked for a second, even for the right code.
    second = client.post("/accounts/verify/", {"code": app_code(device)})
    assert second.status_code == 400
    assert "Too many wrong codes in a row. Wait 1 seconds" in second.content.decode()
    assert client.get("/desk/").status_code == 302
    with time_machine.travel(timezone.now() + timedelta(seconds=2), tick=False):
        third = client.post("/accounts/verify/", {"code": app_code(device)})
    assert third.status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_locks_grow_with_each_failure(world: World) -> None:
    device = give_app(world.agent)
    now = timezone.now()
    for failures in range(1, 5):
        with time_machine.travel(now, tick=False), pytest.raises(services.SecondFactorError):
            services.second_factor_check(user=world.agent, code="000000", now=now)
        device.refresh_from_db()
        assert device.throttling_failure_count == failures
        last_failure = now
        # Locked for 2**(n-1) seconds after n failures: wait that long, then fail again.
        now += timedelta(seconds=2 ** (failures - 1))
    # Four failures: eight seconds; after seven, even the right code is refused.
    later = last_failure + timedelta(seconds=7)
    with (
        time_machine.travel(later, tick=False),
        pytest.raises(services.SecondFactorError) as refused,
    ):
        services.second_factor_check(user=world.agent, code=app_code(device), now=later)
    assert refused.value.code == "throttled"
    assert "Wait 1 seconds" in refused.value.message


# --- Recovery codes -------------------------------------------------------------------------


def test_recovery_codes_are_shown_once_and_work_once(world: World, client: Client) -> None:
    client.force_login(world.agent)
    page = client.post("/accounts/security/recovery-codes/")
    assert page.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", page.content.decode())
    assert len(codes) == services.RECOVERY_CODE_COUNT
    assert len(_audit(Action.MFA_RECOVERY_CODES, world.agent)) == 1
    # Not shown again.
    assert codes[0] not in client.get("/accounts/security/").content.decode()

    other = Client()
    force_login_password_only(other, world.agent)
    used = other.post("/accounts/verify/", {"code": codes[0].upper(), "next": "/desk/"})
    assert used.status_code == 302 and used["Location"] == "/desk/"
    [row] = _audit(Action.MFA_RECOVERY_USED, world.agent)
    assert row.after == {"codes_left": services.RECOVERY_CODE_COUNT - 1}

    again = Client()
    force_login_password_only(again, world.agent)
    refused = again.post("/accounts/verify/", {"code": codes[0]})
    assert refused.status_code == 400
    assert again.get("/desk/").status_code == 302


def test_new_recovery_codes_replace_the_old(world: World) -> None:
    give_app(world.agent)
    now = timezone.now()
    old = services.recovery_codes_generate(user=world.agent, now=now)
    new = services.recovery_codes_generate(user=world.agent, now=now)
    assert StaticDevice.objects.get(user=world.agent).token_set.count() == len(new)
    with pytest.raises(services.SecondFactorError):
        services.second_factor_check(user=world.agent, code=old[0], now=now)


def test_recovery_codes_need_an_app_or_passkey_first(world: World, client: Client) -> None:
    client.force_login(world.user_a.user)
    answer = client.post("/accounts/security/recovery-codes/", follow=True)
    assert escape(str(services.ERR_NO_PRIMARY_FACTOR)) in answer.content.decode()
    assert not StaticDevice.objects.filter(user=world.user_a.user).exists()
    assert not _audit(Action.MFA_RECOVERY_CODES, world.user_a.user)


# --- Removal --------------------------------------------------------------------------------


def test_removing_a_factor_asks_for_the_password(world: World, client: Client) -> None:
    customer = world.admin_a.user
    device = give_app(customer)
    services.recovery_codes_generate(user=customer, now=timezone.now())
    client.force_login(customer)
    url = f"/accounts/security/app/{device.pk}/remove/"
    wrong = client.post(url, {"password": "not-my-password"})
    assert wrong.status_code == 400
    assert escape(str(services.ERR_WRONG_PASSWORD)) in wrong.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    assert not _audit(Action.MFA_REMOVED, customer)

    removed = client.post(url, {"password": PASSWORD})
    assert removed.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    # The recovery codes stood in for the app: they go with the last one.
    assert not StaticDevice.objects.filter(user=customer).exists()
    [row] = _audit(Action.MFA_REMOVED, customer)
    assert row.before == {"kind": "app", "name": device.name}
    assert row.organization_id == world.org_a.pk


def test_wrong_passwords_for_removal_are_limited(world: World, client: Client) -> None:
    device = give_app(world.admin_a.user)
    client.force_login(world.admin_a.user)
    url = f"/accounts/security/app/{device.pk}/remove/"
    for _ in range(services.PASSWORD_TRIES):
        client.post(url, {"password": "guess"})
    locked = client.post(url, {"password": PASSWORD})
    assert locked.status_code == 400
    assert "Too many wrong passwords" in locked.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_someone_elses_factor_is_not_found(world: World, client: Client) -> None:
    theirs = give_app(world.admin_b.user)
    client.force_login(world.admin_a.user)
    assert client.get(f"/accounts/security/app/{theirs.pk}/remove/").status_code == 404
    answer = client.post(f"/accounts/security/app/{theirs.pk}/remove/", {"password": PASSWORD})
    assert answer.status_code == 404
    assert client.get("/accounts/security/nonsense/1/remove/").status_code == 404
    assert TOTPDevice.objects.filter(pk=theirs.pk).exists()


# --- Enforcement: provider staff -------------------------------------------------------------


def test_staff_without_a_factor_are_sent_to_enrol(client: Client) -> None:
    agent = AgentFactory()
    force_login_password_only(client, agent)
    desk = client.get("/desk/", follow=False)
    assert desk.status_code == 302
    assert desk["Location"] == "/accounts/security/?next=%2Fdesk%2F"
    page = client.get(desk["Location"])
    assert escape(str(MSG_ENROL_STAFF)) in page.content.decode()
    api = client.get("/api/v1/desk/queue/")
    assert api.status_code == 403
    assert api.json() == {
        "code": "second_factor_not_enrolled",
        "message": api.json()["message"],
        "fields": {},
    }
    assert client.get("/api/v1/calls/1/").status_code == 403


def test_htmx_requests_are_sent_away_whole(client: Client) -> None:
    force_login_password_only(client, AgentFactory())
    answer = client.get("/desk/", headers={"HX-Request": "true"})
    assert answer.status_code == 204
    assert answer["HX-Redirect"].startswith("/accounts/security/")


def test_enrolled_staff_pass_the_second_step_first(world: World, client: Client) -> None:
    force_login_password_only(client, world.agent)
    desk = client.get("/desk/tickets/")
    assert desk.status_code == 302
    assert desk["Location"] == "/accounts/verify/?next=%2Fdesk%2Ftickets%2F"
    api = client.get("/api/v1/desk/queue/")
    assert api.status_code == 403 and api.json()["code"] == "second_factor_required"


def test_verified_staff_reach_the_desk_and_its_api(world: World, client: Client) -> None:
    client.force_login(world.agent)
    assert client.get("/desk/").status_code == 200
    assert client.get("/api/v1/desk/queue/").status_code == 200


def test_agent_tokens_are_their_own_credential(world: World) -> None:
    from rest_framework.test import APIClient

    from tenants.api_keys import agent_token_create

    token = agent_token_create(user=world.agent, name="softphone", now=timezone.now())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.secret}")
    assert api.get("/api/v1/desk/queue/").status_code == 200


def test_the_admin_needs_an_enrolled_verified_superuser(client: Client) -> None:
    root = User.objects.create_superuser("root@provider.test", PASSWORD)
    force_login_password_only(client, root)
    enrol = client.get("/admin/")
    assert enrol.status_code == 302 and enrol["Location"].startswith("/accounts/security/")
    give_app(root)
    verify = client.get("/admin/")
    assert verify.status_code == 302 and verify["Location"].startswith("/accounts/verify/")
    client.force_login(root)
    assert client.get("/admin/").status_code == 200
    # Each factor is a model in the admin.
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 200
    assert client.get("/admin/otp_static/staticdevice/").status_code == 200
    assert client.get("/admin/django_otp_webauthn/webauthncredential/").status_code == 200
    # Listed, never readable: no key of anyone's app in the admin.
    app = TOTPDevice.objects.get(user=root)
    page = client.get(f"/admin/otp_totp/totpdevice/{app.pk}/change/")
    assert page.status_code == 200
    assert app.key not in page.content.decode()


# --- Enforcement: organizations that require it of their admins --------------------------------


def test_a_global_admin_requires_a_factor_of_the_admins(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    page = client.get("/portal/alpha/settings/security/")
    assert page.status_code == 200
    saved = client.post("/portal/alpha/settings/security/", {"mfa_required_for_admins": "on"})
    assert saved.status_code == 302
    world.org_a.refresh_from_db()
    assert world.org_a.mfa_required_for_admins
    [row] = AuditEntry.objects.filter(action=Action.MFA_REQUIRED_CHANGED)
    assert row.organization_id == world.org_a.pk
    assert row.before == {"mfa_required_for_admins": False}
    assert row.after == {"mfa_required_for_admins": True}
    # The admin themselves, without a factor, is now sent to add one.
    portal = client.get("/portal/alpha/")
    assert portal.status_code == 302
    assert portal["Location"] == "/accounts/security/?next=%2Fportal%2Falpha%2F"
    assert escape(str(MSG_ENROL_ADMIN)) in client.get(portal["Location"]).content.decode()
    assert client.get("/portal/alpha/settings/api-keys/").status_code == 302


def test_only_global_admins_change_the_requirement(world: World, client: Client) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    client.force_login(billing.user)
    answer = client.post("/portal/alpha/settings/security/", {"mfa_required_for_admins": "on"})
    assert answer.status_code == 403
    world.org_a.refresh_from_db()
    assert not world.org_a.mfa_required_for_admins
    assert not AuditEntry.objects.filter(action=Action.MFA_REQUIRED_CHANGED).exists()
    # Another tenant's settings: 404.
    client.force_login(world.admin_a.user)
    assert client.get("/portal/bravo/settings/security/").status_code == 404


def test_the_requirement_reaches_admins_only_of_that_organization(
    world: World, client: Client
) -> None:
    world.org_a.mfa_required_for_admins = True
    world.org_a.save()
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    force_login_password_only(client, billing.user)
    assert client.get("/portal/alpha/").status_code == 302
    # Plain users of the organization, and the other organization's admins, choose.
    force_login_password_only(client, world.user_a.user)
    assert client.get("/portal/alpha/").status_code == 200
    force_login_password_only(client, world.admin_b.user)
    assert client.get("/portal/bravo/").status_code == 200
    # An enrolled, verified admin works as before.
    client.force_login(billing.user)
    assert client.get("/portal/alpha/").status_code == 302  # no factor yet
    give_app(billing.user)
    client.force_login(billing.user)
    assert client.get("/portal/alpha/").status_code == 200


def test_customers_are_not_forced_otherwise(world: World, client: Client) -> None:
    force_login_password_only(client, world.admin_a.user)
    assert client.get("/portal/alpha/").status_code == 200
    assert client.get("/portal/alpha/settings/api-keys/").status_code == 200
    assert client.get("/accounts/security/").status_code == 200
