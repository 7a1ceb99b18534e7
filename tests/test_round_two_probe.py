"""Adversarial probes of the recently added routes: the audit trail viewers and their CSV,
the second-factor pages and the passkeys' endpoints, the organization's second-factor
requirement, privacy (exports and erasure), webhooks over the portal and the API, the
account time-zone page and the desk's presence beat.

Each probe sends what a careless client or a hostile one would (wrong methods, garbage
and out-of-range values, NUL bytes, very long strings, another tenant's ids, the same
form twice) and checks the answer is a clear 4xx that changes nothing, never a 500 or a
half-done write; the channel-parity tests check a rule one channel enforces holds on the
others too.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.actions import Action
from audit.models import AuditEntry
from privacy.models import ExportJob
from tenants.models import Role, User
from tests.api import conftest as api_fixtures
from tests.api.conftest import Keys, bearer
from tests.conftest import World
from tests.factories import MembershipFactory
from tests.mfa_support import force_login_password_only, give_app
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

HUGE = "9" * 30
NUL = "a\x00b"
LONG = "x" * 20_000
# A literal public address: no DNS answer needed, and not private (webhooks.services).
PUBLIC_URL = "https://8.8.8.8/hook"

# An API key of each tenant (tests/api/conftest.py), for the webhook probes.
keys = api_fixtures.keys


# --- Second factors ----------------------------------------------------------------------------


def test_second_factor_pages_refuse_garbage(client: Client, world: World) -> None:
    client.force_login(world.agent)
    assert client.get(reverse("mfa:recovery_codes")).status_code == 405
    assert client.put(reverse("mfa:security")).status_code == 405
    client.get(reverse("mfa:app_add"))
    apps = TOTPDevice.objects.filter(user=world.agent).count()
    garbage = [{"code": NUL}, {"code": LONG}, {"code": "123456", "name": LONG}]
    for data in [*garbage, *({"code": code} for code in NOT_INT_DIGITS)]:
        response = client.post(reverse("mfa:app_add"), data)
        assert response.status_code == 400, data
    assert TOTPDevice.objects.filter(user=world.agent).count() == apps
    for kind, factor in (("app", HUGE), ("nonsense", "1"), ("passkey", "0")):
        url = f"/accounts/security/{kind}/{factor}/remove/"
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"password": "x"}).status_code == 404, url


# Characters Python calls digits (str.isdigit) that int() does not read: superscripts,
# circled numbers. Before, a six-character code of them was a ValueError, a 500.
NOT_INT_DIGITS = ("²²²²²²", "①②③④⑤⑥", "12345²")


def test_the_second_step_refuses_garbage_codes(client: Client, world: World) -> None:
    force_login_password_only(client, world.agent)
    for code in (NUL, LONG, "", "-- --", "１２３４５６", *NOT_INT_DIGITS):
        response = client.post(reverse("mfa:verify"), {"code": code})
        assert response.status_code == 400, code
    assert client.delete(reverse("mfa:verify")).status_code == 405


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b"1",
        b'"x"',
        "\u00e9".encode("latin-1"),
        b'{"id": 1}',
        b"\x00" * 10,
        json.dumps({"x": "y" * 5000}).encode(),
    ],
)
def test_passkey_endpoints_answer_garbage_with_4xx(
    client: Client, world: World, body: bytes
) -> None:
    client.force_login(world.admin_a.user)
    for name in (
        "credential-registration-begin",
        "credential-registration-complete",
        "credential-authentication-begin",
        "credential-authentication-complete",
    ):
        url = reverse(f"otp_webauthn:{name}")
        response = client.post(url, body, content_type="application/json")
        is_object = body == b"" or body.startswith(b"{")
        if is_object and name.endswith("-begin"):
            # A ceremony's start reads nothing of the body: it answers its options.
            assert response.status_code == 200, (name, body)
        else:
            # Before: a body that is not UTF-8 raised UnicodeDecodeError (a 500).
            assert 400 <= response.status_code < 500, (name, body, response.status_code)
        assert client.get(url).status_code in (404, 405), name


def test_the_organizations_requirement_page_refuses_garbage(client: Client, world: World) -> None:
    url = reverse("portal:settings_security", kwargs={"org": "alpha"})
    client.force_login(world.user_a.user)
    client.post(url, {"mfa_required_for_admins": "on"})
    world.org_a.refresh_from_db()
    assert world.org_a.mfa_required_for_admins is False
    client.force_login(world.admin_a.user)
    assert (
        client.get(reverse("portal:settings_security", kwargs={"org": "bravo"})).status_code == 404
    )
    assert client.delete(url).status_code == 405


# --- Privacy -----------------------------------------------------------------------------------


def _privacy(name: str, org: str = "alpha", **kwargs: object) -> str:
    return reverse(f"privacy_portal:{name}", kwargs={"org": org, **kwargs})


def test_privacy_ids_out_of_range_are_404(client: Client, world: World) -> None:
    client.force_login(world.supervisor)
    for url in (
        f"/desk/privacy/people/{HUGE}/erase/",
        f"/desk/privacy/exports/{HUGE}/",
        f"/desk/privacy/exports/{HUGE}/progress/",
        f"/desk/privacy/exports/{HUGE}/download/",
        "/desk/privacy/people/0/erase/",
    ):
        assert client.get(url).status_code == 404, url
    client.force_login(world.admin_a.user)
    for url in (
        f"/portal/alpha/settings/privacy/members/{HUGE}/erase/",
        f"/portal/alpha/settings/privacy/exports/{HUGE}/",
        f"/portal/alpha/settings/privacy/exports/{HUGE}/download/",
        f"/portal/alpha/settings/privacy/members/{world.admin_b.pk}/erase/",
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code in (404, 405), url


@pytest.mark.parametrize(
    "data",
    [
        {"action": "export", "organization": HUGE},
        {"action": "export", "organization": "abc"},
        {"action": "export", "email": NUL},
        {"action": "export", "email": LONG + "@x.test"},
        {"action": "export"},
        {"action": "erase", "email": NUL},
        {"action": "erase", "email": "nobody@nowhere.test"},
    ],
)
def test_desk_privacy_forms_refuse_garbage(
    client: Client, world: World, data: dict[str, str]
) -> None:
    client.force_login(world.supervisor)
    response = client.post(reverse("privacy:home"), data)
    assert response.status_code == 400, data
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"action": "export", "subject": NUL},
        {"action": "export", "subject": HUGE},
        {"action": "export", "subject": ""},
        {"action": "retention", "retention_days": HUGE},
        {"action": "retention", "retention_days": "-5"},
        {"action": "retention", "retention_days": NUL},
    ],
)
def test_portal_privacy_forms_refuse_garbage(
    client: Client, world: World, data: dict[str, str]
) -> None:
    client.force_login(world.admin_a.user)
    response = client.post(_privacy("home"), data)
    assert response.status_code == 400, data
    assert not ExportJob.objects.exists()
    world.org_a.refresh_from_db()
    assert world.org_a.retention_days is None


def test_erasing_twice_is_not_an_error_page(client: Client, world: World) -> None:
    member = MembershipFactory(organization=world.org_a, role=Role.USER)
    client.force_login(world.admin_a.user)
    url = _privacy("erase", member=member.pk)
    first = client.post(url)
    assert first.status_code == 302
    second = client.post(url)
    assert second.status_code in (302, 404)
    client.force_login(world.supervisor)
    url = reverse("privacy:erase", kwargs={"person": member.user.pk})
    assert client.post(url).status_code == 302
    # Erasure is idempotent: one audit row, whatever the channel of the second try.
    assert AuditEntry.objects.filter(action=Action.PERSON_ERASED).count() == 1


def test_desk_erasure_of_an_already_erased_person_twice(client: Client, world: World) -> None:
    person = MembershipFactory(organization=world.org_b, role=Role.USER).user
    client.force_login(world.supervisor)
    url = reverse("privacy:erase", kwargs={"person": person.pk})
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["already"] is True
    assert AuditEntry.objects.filter(action=Action.PERSON_ERASED).count() == 1


def test_export_download_methods(client: Client, world: World) -> None:
    client.force_login(world.admin_a.user)
    client.post(_privacy("mine"))
    job = ExportJob.objects.get()
    url = _privacy("export_download", export=job.pk)
    assert client.head(url).status_code == 405
    assert client.post(url).status_code == 405
    # Not ready yet: nothing to take.
    assert client.get(url).status_code == 410
    client.force_login(world.admin_b.user)
    assert client.get(_privacy("export_download", org="bravo", export=job.pk)).status_code == 404


# --- Webhooks ----------------------------------------------------------------------------------


def _hooks(org: str = "alpha") -> str:
    return reverse("portal:settings_webhooks", kwargs={"org": org})


def _hook(endpoint: int | str, org: str = "alpha") -> str:
    return f"/portal/{org}/settings/webhooks/{endpoint}/"


@pytest.mark.parametrize(
    "data",
    [
        {"url": PUBLIC_URL, "event_types": ["ticket.created"], "description": NUL},
        {"url": PUBLIC_URL + NUL, "event_types": ["ticket.created"]},
        {"url": PUBLIC_URL, "event_types": ["no.such"]},
        {"url": PUBLIC_URL, "event_types": []},
        {"url": "https://" + "a" * 600 + ".test/", "event_types": ["ticket.created"]},
        {"url": "ftp://8.8.8.8/", "event_types": ["ticket.created"]},
        {"url": "http://127.0.0.1/", "event_types": ["ticket.created"]},
        {"url": "http://8.8.8.8:99999/", "event_types": ["ticket.created"]},
        {"url": PUBLIC_URL, "event_types": ["ticket.created"], "description": LONG},
    ],
)
def test_webhook_registration_refuses_garbage_on_both_channels(
    client: Client, world: World, keys: Keys, data: dict[str, object], settings: Any
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False
    )
    client.force_login(world.admin_a.user)
    response = client.post(_hooks(), data)
    assert response.status_code in (200, 400)
    assert response.context["form"].errors, data
    api = bearer(keys.a_secret)
    response = api.post("/api/v1/webhooks/", data, format="json")
    assert response.status_code == 400, (data, response.content)
    assert not WebhookEndpoint.objects.exists()


def test_webhook_ids_of_another_tenant_or_out_of_range_are_404(
    client: Client, world: World, keys: Keys
) -> None:
    api_b = bearer(keys.b_secret)
    created = api_b.post(
        "/api/v1/webhooks/", {"url": PUBLIC_URL, "event_types": ["ticket.created"]}, format="json"
    )
    assert created.status_code == 201
    theirs = created.json()["id"]
    client.force_login(world.admin_a.user)
    for url in (_hook(theirs), _hook(HUGE), f"{_hook(theirs)}deliveries/1/resend/"):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"action": "delete"}).status_code == 404, url
    api_a = bearer(keys.a_secret)
    for url in (
        f"/api/v1/webhooks/{theirs}/",
        f"/api/v1/webhooks/{HUGE}/",
        f"/api/v1/webhooks/{theirs}/deliveries/",
        f"/api/v1/webhooks/{theirs}/deliveries/1/resend/",
    ):
        assert api_a.get(url).status_code in (404, 405), url
    assert api_a.patch(f"/api/v1/webhooks/{theirs}/", {"is_active": False}).status_code == 404
    assert api_a.delete(f"/api/v1/webhooks/{theirs}/").status_code == 404
    assert WebhookEndpoint.objects.get(pk=theirs).is_active


def test_webhook_api_refuses_unknown_fields_and_wrong_types(keys: Keys) -> None:
    api = bearer(keys.a_secret)
    created = api.post(
        "/api/v1/webhooks/", {"url": PUBLIC_URL, "event_types": ["ticket.created"]}, format="json"
    ).json()
    url = f"/api/v1/webhooks/{created['id']}/"
    for body in ({}, {"is_active": "maybe"}, {"is_active": False, "url": "x"}, {"secret": "x"}):
        assert api.patch(url, body, format="json").status_code == 400, body
    assert api.put(url, {"is_active": False}, format="json").status_code == 405
    assert WebhookEndpoint.objects.get().is_active


# --- The account's time zone and the desk's presence beat ---------------------------------------


@pytest.mark.parametrize("zone", ["Mars/Olympus", NUL, LONG, "../../etc/passwd", "UTC\n"])
def test_the_account_time_zone_refuses_garbage(client: Client, world: World, zone: str) -> None:
    client.force_login(world.user_a.user)
    url = reverse("portal:account", kwargs={"org": "alpha"})
    response = client.post(url, {"time_zone": zone})
    assert response.status_code == 400
    user = User.objects.get(pk=world.user_a.user.pk)
    assert user.time_zone == ""
    assert client.get(reverse("portal:account", kwargs={"org": "bravo"})).status_code == 404
    assert client.delete(url).status_code == 405


def test_presence_beats_with_garbage(client: Client, world: World) -> None:
    ticket = world.file()
    client.force_login(world.agent)
    url = reverse("desk:ticket_presence", kwargs={"number": ticket.pk})
    assert client.get(url).status_code == 405
    for state in (NUL, LONG, "", "replying"):
        assert client.post(url, {"state": state}).status_code == 200
    for number in (HUGE, "abc", "0", "-1"):
        assert client.post(f"/desk/tickets/{number}/presence/").status_code == 404, number
    client.force_login(world.admin_a.user)
    assert client.post(url).status_code in (302, 404)


def test_an_unknown_webhook_action_changes_nothing(
    client: Client, world: World, keys: Keys
) -> None:
    """Before: any POST without "delete" fell through to the on/off switch, whose missing
    "active" meant off, so a mistyped or forged action, or an empty form, switched the
    endpoint off."""
    created = bearer(keys.a_secret).post(
        "/api/v1/webhooks/", {"url": PUBLIC_URL, "event_types": ["ticket.created"]}, format="json"
    )
    endpoint = created.json()["id"]
    client.force_login(world.admin_a.user)
    for data in (
        *({"action": action} for action in ("delet", "pause", NUL, LONG)),
        {},
        {"active": ""},
        {"active": "yes"},
        {"active": NUL},
    ):
        response = client.post(_hook(endpoint), data)
        assert response.status_code == 400, data
        assert "Unknown action" in response.content.decode()
    hook = WebhookEndpoint.objects.get()
    assert hook.is_active
    assert not AuditEntry.objects.filter(action=Action.WEBHOOK_PAUSED).exists()
    # The page's own buttons still work: the switch says which way, "delete" deletes.
    assert client.post(_hook(endpoint), {"active": "off"}).status_code == 302
    assert WebhookEndpoint.objects.get().is_active is False
    assert client.post(_hook(endpoint), {"active": "on"}).status_code == 302
    assert WebhookEndpoint.objects.get().is_active is True
    assert client.post(_hook(endpoint), {"action": "delete"}).status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_the_endpoint_limit_holds_on_the_portal_and_the_api(
    client: Client, world: World, keys: Keys, settings: Any
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, WEBHOOK_MAX_ENDPOINTS=2)
    from webhooks.services import ERR_TOO_MANY

    api = bearer(keys.a_secret)
    body = {"url": PUBLIC_URL, "event_types": ["ticket.created"]}
    assert api.post("/api/v1/webhooks/", body, format="json").status_code == 201
    client.force_login(world.admin_a.user)
    assert client.post(_hooks(), {**body, "url": PUBLIC_URL + "/2"}).context["registered"]
    refused = client.post(_hooks(), {**body, "url": PUBLIC_URL + "/3"})
    assert refused.context["registered"] is None
    assert refused.context["form"].errors["url"] == [str(ERR_TOO_MANY % {"limit": 2})]
    answer = api.post("/api/v1/webhooks/", {**body, "url": PUBLIC_URL + "/3"}, format="json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "too_many_endpoints"
    assert WebhookEndpoint.objects.count() == 2


# --- Repeated export requests -------------------------------------------------------------------


def _export_rows() -> int:
    return AuditEntry.objects.filter(action=Action.EXPORT_REQUESTED).count()


def test_asking_twice_for_the_same_export_makes_one(client: Client, world: World) -> None:
    """Before: every POST (a double click, a second tab) queued another export, another
    worker run and another audit row for the same data."""
    client.force_login(world.user_a.user)
    first = client.post(_privacy("mine"))
    second = client.post(_privacy("mine"))
    assert first["Location"] == second["Location"]
    client.force_login(world.admin_a.user)
    home = _privacy("home")
    assert (
        client.post(home, {"action": "export", "subject": "organization"})["Location"]
        == client.post(home, {"action": "export", "subject": "organization"})["Location"]
    )
    client.force_login(world.supervisor)
    desk = reverse("privacy:home")
    data = {"action": "export", "organization": str(world.org_b.pk)}
    assert client.post(desk, data)["Location"] == client.post(desk, data)["Location"]
    assert ExportJob.objects.count() == 3
    assert _export_rows() == 3


def test_a_finished_export_can_be_asked_for_again(client: Client, world: World) -> None:
    from privacy.services import export_run

    client.force_login(world.user_a.user)
    client.post(_privacy("mine"))
    export_run(ExportJob.objects.get().pk)
    client.post(_privacy("mine"))
    assert ExportJob.objects.count() == 2
    # Another requester's pending export of the same subject is theirs, not shared.
    client.force_login(world.admin_a.user)
    client.post(_privacy("home"), {"action": "export", "subject": str(world.user_a.pk)})
    assert ExportJob.objects.count() == 3


# --- Channel parity: the organization's second-factor requirement -------------------------------


def test_the_admins_second_factor_requirement_holds_on_the_api_session(
    client: Client, world: World, keys: Keys
) -> None:
    """An organization that requires a second factor of its admins: the portal sends an
    admin without one to add one. Before: the same signed-in session reached the API
    (webhooks, API keys, requests) as if no factor were required."""
    world.org_a.mfa_required_for_admins = True
    world.org_a.save(update_fields=["mfa_required_for_admins"])
    force_login_password_only(client, world.admin_a.user)
    assert client.get(_hooks()).status_code == 302
    body = {"url": PUBLIC_URL, "event_types": ["ticket.created"]}
    for answer in (
        client.get("/api/v1/webhooks/"),
        client.post("/api/v1/webhooks/", body, content_type="application/json"),
        client.get("/api/v1/tickets/"),
        client.get("/api/v1/webhooks/", HTTP_X_ORGANIZATION="alpha"),
    ):
        assert answer.status_code == 403
        assert answer.json()["code"] == "second_factor_not_enrolled"
    assert not WebhookEndpoint.objects.exists()
    # The organization's API key is its own credential, as before.
    assert bearer(keys.a_secret).get("/api/v1/webhooks/").status_code == 200


def test_the_requirement_is_the_named_organizations_on_the_api(
    client: Client, world: World
) -> None:
    """A person who administers two organizations, only one of which requires a factor,
    acts for the other one (named in X-Organization) without one, as in its portal."""
    world.org_a.mfa_required_for_admins = True
    world.org_a.save(update_fields=["mfa_required_for_admins"])
    MembershipFactory(organization=world.org_b, user=world.admin_a.user, role=Role.GLOBAL_ADMIN)
    force_login_password_only(client, world.admin_a.user)
    assert client.get("/portal/bravo/").status_code == 200
    assert client.get("/api/v1/webhooks/", HTTP_X_ORGANIZATION="bravo").status_code == 200
    assert client.get("/api/v1/webhooks/", HTTP_X_ORGANIZATION="alpha").status_code == 403
    assert client.get("/api/v1/webhooks/").status_code == 403
    # Plain users and admins who enrolled are not held.
    force_login_password_only(client, world.user_a.user)
    assert client.get("/api/v1/tickets/").status_code == 403  # not an admin: the API's own
    assert client.get("/api/v1/tickets/").json()["code"] == "not_admin"
    give_app(world.admin_a.user)
    client.force_login(world.admin_a.user)
    assert client.get("/api/v1/webhooks/", HTTP_X_ORGANIZATION="alpha").status_code == 200


# --- Macros (the Django admin) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"body": NUL},
        {"body": "y" * 10_001},
        {"name": "n" * 101},
        {"name": NUL},
        {"language": "xx"},
        {"position": HUGE},
        {"position": "-1"},
        {"position": "70000"},
    ],
)
def test_macro_admin_refuses_garbage(client: Client, changes: dict[str, str]) -> None:
    from tests.admin_forms import admin_url
    from tickets.models import Macro

    client.force_login(User.objects.create_superuser("root@provider.test", "a-long-test-pw-1"))
    # Counted, not assumed empty: demo tests of the same worker may have left macros.
    before = Macro.objects.count()
    data = {"name": "Probe thanks", "language": "en", "body": "Thanks!", "is_active": "on",
            "position": "0", **changes}  # fmt: skip
    response = client.post(admin_url(Macro, "add"), data)
    assert response.status_code == 200, changes
    assert response.context["adminform"].form.errors
    assert Macro.objects.count() == before
    assert not AuditEntry.objects.filter(action=Action.MACRO_CREATED).exists()


def test_macro_admin_twice_the_same_name_and_huge_list_values(client: Client) -> None:
    from tests.admin_forms import admin_url
    from tickets.models import Macro

    client.force_login(User.objects.create_superuser("root@provider.test", "a-long-test-pw-1"))
    # Only this test's macros: demo tests of the same worker may have left others.
    Macro.objects.all().delete()
    data = {"name": "Probe thanks", "language": "en", "body": "Thanks!", "is_active": "on",
            "position": "0"}  # fmt: skip
    assert client.post(admin_url(Macro, "add"), data).status_code == 302
    again = client.post(admin_url(Macro, "add"), data)
    assert again.status_code == 200
    assert Macro.objects.count() == 1
    macro = Macro.objects.get()
    listed = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(macro.pk),
              "form-0-position": HUGE, "form-0-is_active": "on", "_save": "Save"}  # fmt: skip
    assert client.post(admin_url(Macro, "changelist"), listed).status_code == 200
    assert Macro.objects.get().position == 0
    listed.update({"form-0-id": HUGE, "form-0-position": "1"})
    assert client.post(admin_url(Macro, "changelist"), listed).status_code < 500
    assert Macro.objects.get().position == 0
    for pk in (HUGE, "abc", NUL):
        assert client.get(f"/admin/tickets/macro/{pk}/change/").status_code in (302, 404), pk


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Well-formed cursors (DRF's base64 of a query string) whose position is not a time.
FORGED_CURSORS = [
    _cursor("p=garbage"),
    _cursor("p=2026-01-01"),
    _cursor("p=2026-06-10 10:00:00"),
    _cursor("p=2026-13-45T99:00:00Z"),
    _cursor("p=" + "9" * 40),
    _cursor("p=%00"),
    _cursor("o=-5&r=1"),
]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
def test_forged_cursors_are_404_on_every_list(world: World, keys: Keys, cursor: str) -> None:
    """Before: a position that is no time was a Django validation error, and a time
    without a zone was read as a naive datetime in the server's zone (a RuntimeWarning,
    an error under the tests); now each is DRF's answer to a bad cursor, 404."""
    api = bearer(keys.a_secret)
    world.file()
    for ordering in ("", "created_at", "-updated_at"):
        answer = api.get("/api/v1/tickets/", {"cursor": cursor, "ordering": ordering})
        assert answer.status_code == 404, ordering
    created = api.post(
        "/api/v1/webhooks/", {"url": PUBLIC_URL, "event_types": ["ticket.created"]}, format="json"
    ).json()
    url = f"/api/v1/webhooks/{created['id']}/deliveries/"
    assert api.get(url, {"cursor": cursor}).status_code == 404


def test_the_lists_own_cursors_still_page(world: World, keys: Keys) -> None:
    api = bearer(keys.a_secret)
    for _ in range(3):
        world.file()
    first = api.get("/api/v1/tickets/", {"page_size": 2}).json()
    assert first["next"]
    second = api.get(first["next"])
    assert second.status_code == 200
    assert len(second.json()["results"]) == 1
    # An offset past DRF's cutoff is cut to it: an empty page, not an error.
    far = api.get("/api/v1/tickets/", {"cursor": _cursor("o=" + "9" * 40)})
    assert far.status_code == 200


def test_webhook_api_garbage_cursors_and_organization_headers(
    client: Client, world: World, keys: Keys
) -> None:
    api = bearer(keys.a_secret)
    created = api.post(
        "/api/v1/webhooks/", {"url": PUBLIC_URL, "event_types": ["ticket.created"]}, format="json"
    ).json()
    url = f"/api/v1/webhooks/{created['id']}/deliveries/"
    for cursor in ("garbage", NUL, LONG, *FORGED_CURSORS):
        answer = api.get(url, {"cursor": cursor})
        assert answer.status_code in (200, 400, 404), cursor
    client.force_login(world.admin_a.user)
    for header in ("bravo", "no-such-org", "a" * 100, "al pha", "alpha\t"):
        answer = client.get("/api/v1/webhooks/", HTTP_X_ORGANIZATION=header)
        assert answer.status_code in (200, 403), header
        if header.strip() != "alpha":
            assert answer.status_code == 403, header
    assert client.get("/api/v1/webhooks/", HTTP_X_ORGANIZATION="alpha").status_code == 200


def test_export_pages_of_another_requester_are_404(client: Client, world: World) -> None:
    client.force_login(world.user_a.user)
    client.post(_privacy("mine"))
    job = ExportJob.objects.get()
    client.force_login(world.admin_a.user)
    for name in ("export", "export_progress", "export_download"):
        assert client.get(_privacy(name, export=job.pk)).status_code == 404, name
    client.force_login(world.supervisor)
    for name in ("export", "export_progress", "export_download"):
        url = reverse(f"privacy:{name}", kwargs={"export": job.pk})
        assert client.get(url).status_code == 404, name
    assert ExportJob.objects.get().status == "queued"


def test_registering_the_same_url_twice_is_refused_on_both_channels(
    client: Client, world: World, keys: Keys
) -> None:
    """Before: a registration form sent twice (or a retried POST) made a second endpoint
    with a second secret that nobody kept: every delivery to it was signed with a key the
    receiver did not know, and it took a place in the organization's limit."""
    from webhooks.services import ERR_DUPLICATE_URL

    body = {"url": PUBLIC_URL, "event_types": ["ticket.created"]}
    client.force_login(world.admin_a.user)
    assert client.post(_hooks(), body).context["registered"] is not None
    again = client.post(_hooks(), body)
    assert again.context["registered"] is None
    assert again.context["form"].errors["url"] == [str(ERR_DUPLICATE_URL)]
    answer = bearer(keys.a_secret).post("/api/v1/webhooks/", body, format="json")
    assert answer.status_code == 409
    assert answer.json()["code"] == "duplicate_url"
    assert WebhookEndpoint.objects.count() == 1
    assert AuditEntry.objects.filter(action=Action.WEBHOOK_CREATED).count() == 1
    # Another organization registers the same URL as its own.
    assert bearer(keys.b_secret).post("/api/v1/webhooks/", body, format="json").status_code == 201
    # Deleted, it can be registered again.
    WebhookEndpoint.objects.filter(organization=world.org_a).delete()
    assert client.post(_hooks(), body).context["registered"] is not None


@pytest.mark.parametrize(
    "next_url",
    [NUL, "desk", "javascript:alert(1)", "//evil.test/", "https://evil.test/", "/\\evil.test",
     "/desk/\x00", LONG],
)  # fmt: skip
def test_second_factor_pages_drop_a_bad_next(client: Client, world: World, next_url: str) -> None:
    """Before: a ``next`` with no slash or dot ("desk") was taken for a view name by
    ``redirect()`` and failed to reverse, and one with a NUL byte made an invalid
    Location header: a 500 after the right code, or for anyone without a factor."""
    force_login_password_only(client, world.agent)
    page = client.get(reverse("mfa:verify"), {"next": next_url})
    assert page.status_code == 200
    assert "evil" not in page.context["next"] and "javascript" not in page.context["next"]
    device = give_app(world.agent)
    from tests.mfa_support import app_code

    answer = client.post(reverse("mfa:verify"), {"code": app_code(device), "next": next_url})
    assert answer.status_code == 302
    assert "evil" not in answer["Location"] and "javascript" not in answer["Location"]
    assert client.get(reverse("mfa:security"), {"next": next_url}).status_code == 200
    # Someone without a factor is sent on at once, to the same checked place.
    force_login_password_only(client, world.user_a.user)
    passed = client.get(reverse("mfa:verify"), {"next": next_url})
    assert passed.status_code == 302
    assert "evil" not in passed["Location"] and "javascript" not in passed["Location"]
