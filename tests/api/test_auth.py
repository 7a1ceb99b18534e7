"""API keys and agent tokens: authentication, roles (POL-WHO-1/2), revocation, last use,
throttling, and the browser session with CSRF."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tenants.api_keys import CredentialError, api_key_create, api_key_revoke
from tenants.credentials import LAST_USED_RESOLUTION, ApiKey, credential_hash
from tenants.models import Role
from tests.api.conftest import NEW_TICKET, Keys, bearer
from tests.conftest import T0, World
from tests.factories import MembershipFactory
from tickets.models import ActorKind, Ticket


def test_a_key_is_stored_hashed_and_shown_once(world: World) -> None:
    issued = api_key_create(
        organization=world.org_a, name="ci", role=Role.GLOBAL_ADMIN, created_by=None, now=T0
    )
    key = ApiKey.objects.get(pk=issued.credential.pk)
    assert issued.secret.startswith(f"{key.prefix}_")
    assert key.prefix.startswith("sdk_") and len(key.prefix) == 12
    assert issued.secret not in str(ApiKey.objects.filter(pk=key.pk).values().get())
    assert key.secret_hash == credential_hash(issued.secret)


def test_a_key_needs_an_admin_role(world: World) -> None:
    with pytest.raises(CredentialError):
        api_key_create(organization=world.org_a, name="x", role=Role.USER, created_by=None, now=T0)


def test_a_key_files_as_its_organization_with_its_label(
    world: World, keys: Keys, client_a: APIClient
) -> None:
    response = client_a.post("/api/v1/tickets/", NEW_TICKET, format="json")
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.organization == world.org_a
    assert ticket.channel == "api"
    event = ticket.events.get()
    assert event.actor_kind == ActorKind.API_KEY
    assert event.actor_label == keys.a.label


def test_a_billing_admin_key_cannot_file_technical_requests(world: World) -> None:
    """POL-WHO-2 applies to keys as in the portal."""
    issued = api_key_create(
        organization=world.org_a, name="billing", role=Role.BILLING_ADMIN, created_by=None, now=T0
    )
    client = bearer(issued.secret)
    refused = client.post("/api/v1/tickets/", NEW_TICKET, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden_category"
    assert "category" in refused.json()["fields"]
    billing = {**NEW_TICKET, "category": "billing"}
    assert client.post("/api/v1/tickets/", billing, format="json").status_code == 201


@pytest.mark.parametrize(
    "header",
    [
        "Bearer sdk_00000000_unknown",
        "Bearer not-a-key",
        "Bearer",
        "Bearer a b",
        "Bearer sdt_00000000_x",
    ],
)
def test_bad_credentials_are_401_json(world: World, keys: Keys, header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/tickets/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_secret_with_a_real_prefix_is_refused(keys: Keys) -> None:
    forged = f"{keys.a.prefix}_{'x' * 43}"
    assert bearer(forged).get("/api/v1/tickets/").status_code == 401


def test_no_credentials_is_401(world: World) -> None:
    response = APIClient().get("/api/v1/tickets/")
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "fields": {},
    }


def test_a_revoked_key_is_refused_at_once(keys: Keys, client_a: APIClient) -> None:
    assert client_a.get("/api/v1/tickets/").status_code == 200
    api_key_revoke(key=keys.a, now=T0)
    response = client_a.get("/api/v1/tickets/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    first = ApiKey.objects.get(pk=keys.a.pk).revoked_at
    api_key_revoke(key=keys.a, now=T0 + timedelta(hours=1))
    assert ApiKey.objects.get(pk=keys.a.pk).revoked_at == first


def test_last_use_is_written_at_most_once_a_minute(keys: Keys, client_a: APIClient) -> None:
    with time_machine.travel(T0, tick=False):
        client_a.get("/api/v1/tickets/")
    assert ApiKey.objects.get(pk=keys.a.pk).last_used_at == T0
    with time_machine.travel(T0 + LAST_USED_RESOLUTION - timedelta(seconds=1), tick=False):
        client_a.get("/api/v1/tickets/")
    assert ApiKey.objects.get(pk=keys.a.pk).last_used_at == T0
    later = T0 + LAST_USED_RESOLUTION + timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        client_a.get("/api/v1/tickets/")
    assert ApiKey.objects.get(pk=keys.a.pk).last_used_at == later


def test_a_busy_key_costs_no_write_per_request(
    keys: Keys, client_a: APIClient, django_assert_num_queries: object
) -> None:
    with time_machine.travel(T0, tick=False):
        client_a.get("/api/v1/tickets/")
        # key lookup + the (empty) page; no UPDATE of last_used_at
        with django_assert_num_queries(2):  # type: ignore[operator]
            client_a.get("/api/v1/tickets/")


def test_throttling_is_per_key_with_retry_after(
    keys: Keys, client_a: APIClient, client_b: APIClient, settings: pytest.FixtureRequest
) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"credential": "3/min"},
    }
    statuses = [client_a.get("/api/v1/tickets/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = client_a.get("/api/v1/tickets/")
    assert throttled.json()["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert client_b.get("/api/v1/tickets/").status_code == 200


def test_create_api_key_command_prints_the_key_once(world: World) -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_key", "alpha", "--name", "zabbix", "--role", "service_support_admin",
        stdout=out, stderr=err,
    )  # fmt: skip
    secret = out.getvalue().strip()
    key = ApiKey.objects.get(name="zabbix")
    assert key.role == Role.SERVICE_SUPPORT_ADMIN
    assert key.matches(secret)
    assert secret not in err.getvalue()
    assert bearer(secret).get("/api/v1/tickets/").status_code == 200
    with pytest.raises(CommandError):
        call_command("create_api_key", "nope", "--name", "x", stdout=out, stderr=err)


def test_create_agent_token_command(world: World) -> None:
    out = StringIO()
    call_command("create_agent_token", world.agent.email, stdout=out, stderr=StringIO())
    token = out.getvalue().strip()
    assert token.startswith("sdt_")
    assert bearer(token).get("/api/v1/desk/queue/").status_code == 200
    with pytest.raises(CommandError):
        call_command("create_agent_token", world.admin_a.user.email, stdout=out, stderr=out)


def test_agent_tokens_reach_the_desk_and_calls_but_not_tenant_endpoints(
    world: World, keys: Keys, agent_client: APIClient, client_a: APIClient
) -> None:
    ticket = world.file()
    assert agent_client.get(f"/api/v1/desk/tickets/{ticket.reference}/").status_code == 200
    started = agent_client.post(
        "/api/v1/calls/", {"organization": "alpha", "caller_number": "+48600100200"},
        format="json",
    )  # fmt: skip
    assert started.status_code == 201
    assert agent_client.get("/api/v1/tickets/").status_code == 403
    # An organization's key does not see the desk at all.
    assert client_a.get("/api/v1/desk/queue/").status_code == 404
    assert client_a.get(f"/api/v1/desk/tickets/{ticket.reference}/").status_code == 404


def test_a_deactivated_agents_token_stops_working(
    world: World, keys: Keys, agent_client: APIClient
) -> None:
    world.agent.is_active = False
    world.agent.save()
    assert agent_client.get("/api/v1/desk/queue/").status_code == 401


def test_session_auth_enforces_csrf(world: World) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.admin_a.user)
    assert client.get("/api/v1/tickets/").status_code == 200
    refused = client.post("/api/v1/tickets/", NEW_TICKET, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    assert not Ticket.objects.exists()


def test_a_session_admin_of_several_organizations_names_one(world: World) -> None:
    MembershipFactory(user=world.admin_a.user, organization=world.org_b, role=Role.GLOBAL_ADMIN)
    client = APIClient()
    client.force_login(world.admin_a.user)
    ambiguous = client.post("/api/v1/tickets/", NEW_TICKET, format="json")
    assert ambiguous.status_code == 403
    assert ambiguous.json()["code"] == "organization_required"
    chosen = client.post("/api/v1/tickets/", NEW_TICKET, format="json", HTTP_X_ORGANIZATION="bravo")
    assert chosen.status_code == 201
    assert Ticket.objects.get().organization == world.org_b


def test_a_plain_member_is_told_to_ask_an_admin(world: World) -> None:
    """POL-WHO-1: a clear message, not a bare refusal."""
    client = APIClient()
    client.force_login(world.user_a.user)
    refused = client.get("/api/v1/tickets/")
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_admin"
    assert "admin" in refused.json()["message"]


def test_staff_issue_an_agent_token_in_the_admin(world: World) -> None:
    from django.contrib.messages import get_messages
    from django.test import Client

    from tenants.credentials import AgentToken
    from tenants.models import User

    client = Client()
    client.force_login(User.objects.create_superuser("root@provider.test", "a-long-password-1"))
    response = client.post(
        "/admin/tenants/agenttoken/add/", {"user": world.agent.pk, "name": "softphone"}
    )
    assert response.status_code == 302
    token = AgentToken.objects.get(user=world.agent)
    [shown] = [str(m) for m in get_messages(response.wsgi_request) if "sdt_" in str(m)]
    secret = shown.rsplit(" ", 1)[1]
    assert token.matches(secret)
    assert bearer(secret).get("/api/v1/desk/queue/").status_code == 200
