"""Junk in the query string of every page is ignored or refused, never a 500: each GET route
of the portal and the desk, with every filter name the pages read set to nonsense."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client

from tests.conftest import World
from tests.test_route_walk import DESK, TENANT, _url, classify, routes
from tests.test_xss_corpus import Corpus, _desk_values, corpus  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

JUNK = {
    "page": "-1",
    "q": "x" * 5000,
    "status": "\x00",
    "severity": "ZZ",
    "category": "[]",
    "product": "99999999999999999999999",
    "organization": "-5",
    "assignee": "somebody",
    "sort": "--",
    "breached": "maybe",
    "waiting": "2",
    "from": "2026-99-99",
    "to": "not a date",
    "period": "fortnight",
    "service": "abc",
    "country": "ZZZ",
    "next": "//evil.example/",
    "provider": "1",
}


@pytest.mark.parametrize("kind", [TENANT, DESK])
def test_every_page_survives_junk_parameters(corpus: Corpus, client: Client, kind: str) -> None:  # noqa: F811
    world: World = corpus.world
    client.force_login(world.admin_a.user if kind == TENANT else world.supervisor)
    values = corpus.values if kind == TENANT else _desk_values(corpus)
    failures = []
    for route in routes():
        if classify(route) != kind or "call" in route.params:
            continue
        url = f"{_url(route, values)}?{urlencode(JUNK)}"
        status = client.get(url).status_code
        if status >= 500:
            failures.append((url[:120], status))
    assert failures == []
