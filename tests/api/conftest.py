"""API fixtures: an API key of each tenant, an agent token, and clients that use them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tenants.api_keys import agent_token_create, api_key_create
from tenants.credentials import AgentToken, ApiKey
from tenants.models import Role
from tests.conftest import T0, World


@dataclass
class Keys:
    a: ApiKey
    a_secret: str
    b: ApiKey
    b_secret: str
    agent: AgentToken
    agent_secret: str


@pytest.fixture
def keys(world: World) -> Keys:
    a = api_key_create(
        organization=world.org_a, name="monitoring", role=Role.GLOBAL_ADMIN,
        created_by=world.admin_a.user, now=T0,
    )  # fmt: skip
    b = api_key_create(
        organization=world.org_b, name="crm", role=Role.GLOBAL_ADMIN,
        created_by=world.admin_b.user, now=T0,
    )  # fmt: skip
    token = agent_token_create(user=world.agent, name="softphone", now=T0)
    return Keys(a.credential, a.secret, b.credential, b.secret, token.credential, token.secret)


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def client_a(keys: Keys) -> APIClient:
    return bearer(keys.a_secret)


@pytest.fixture
def client_b(keys: Keys) -> APIClient:
    return bearer(keys.b_secret)


@pytest.fixture
def agent_client(keys: Keys) -> APIClient:
    return bearer(keys.agent_secret)


@pytest.fixture(autouse=True)
def _fresh_throttle_buckets() -> None:
    """Throttle counters live in the cache; each test starts with full buckets."""
    cache.clear()


NEW_TICKET = {
    "title": "Cannot send mail",
    "description": "Outbound mail is stuck in the outbox for everyone.",
    "category": "technical",
    "product": "exchange-online",
    "impact": "degraded",
    "scope": "many",
    "contact_email": "it@alpha.test",
}
