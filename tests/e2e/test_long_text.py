"""Long unbroken text — a 20,000-character word, a long URL, a log line with no spaces —
in every place a user can type: titles, descriptions, replies, internal notes, names,
labels, file names, help and request searches. Every portal and desk page (the
responsive walk's list) at phone and laptop width: nothing scrolls sideways, and no box
that scrolls on its own grows wider than a field could make it (a 20,000-character reply
once made the ticket page 189,428 px wide)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tenants.api_keys import api_key_create
from tests.conftest import World
from tests.e2e.test_responsive import (
    Plan,
    judge,
    seed_desk,
    seed_portal,
    urls,
    walk,
)
from tests.test_route_walk import DESK, TENANT, Route, routes
from tickets import services
from tickets.actors import Actor
from tickets.models import Ticket
from webhooks.services import endpoint_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAN = Plan(widths=(390, 1366), languages=("en",), screenshots=False, runaway=True)

WORD = "a" * 20_000
URL = "https://files.example.com/" + "/".join(f"folder{n:04d}" for n in range(400)) + "?x=1"
LOG = (
    "2026-12-07T00:00:00.000Z|ERROR|smtp.outbound|"
    + "queue=exchange;attempt=3;status=451-4.7.0;".join(str(n) for n in range(600))
)[:20_000]
SEARCH = "x" * 3_000


def long(n: int) -> str:
    """An unbroken word of exactly ``n`` characters, for fields with a length limit."""
    return ("Wordwithoutanyspace" * (n // 19 + 1))[:n]


def _fill(world: World) -> None:
    """Long words wherever a user or a customer types: the seeded request gets a long
    title, a log for a description and long replies and notes; names, labels, an API
    key, a webhook and a file name are long too."""
    now = timezone.now()
    org = world.org_a
    org.name = long(200)
    org.save(update_fields=["name"])
    for user in (world.admin_a.user, world.supervisor, world.agent):
        user.full_name = long(150)
        user.save(update_fields=["full_name"])
    agent = Actor.for_user(world.agent)
    customer = Actor.for_member(world.admin_a)
    for ticket in Ticket.objects.filter(organization=org):
        Ticket.objects.filter(pk=ticket.pk).update(title=long(200), description=LOG)
        ticket.refresh_from_db()
        services.ticket_customer_reply(
            ticket=ticket,
            actor=customer,
            body=f"{URL}\n{long(15_000)}",
            now=now,
            attachments=[SimpleUploadedFile(long(200) + ".txt", b"log\n")],
        )
        services.ticket_internal_note(ticket=ticket, actor=agent, body=LOG, now=now)
        services.ticket_agent_reply(ticket=ticket, actor=agent, body=WORD, now=now)
    world.file(world.admin_a, title=long(200), description=WORD, now=now)
    org.registered_phones.update(label=long(100))
    org.registered_emails.update(label=long(100))
    api_key_create(organization=org, name=long(100), role="global_admin", created_by=None, now=now)
    endpoint_create(
        organization=org,
        url="http://127.0.0.1:9/" + long(470),
        event_types=["ticket.created"],
        description=long(200),
        created_by=None,
        now=now,
    )


def _searches(kind: str) -> list[tuple[Route, str]]:
    """The pages with a search box, searched for 3,000 characters without a space (the
    desk's "All requests" page where it exists)."""
    names = {
        TENANT: ("portal:help", "portal:request_list", "portal:home"),
        DESK: ("desk:home", "desk:requests"),
    }[kind]
    found = [r for r in routes() if r.name in names]
    assert {r.name for r in found} >= set(names[:-1] if kind == DESK else names), names
    return [
        (
            r,
            reverse(r.name, kwargs={"org": "alpha"} if "org" in r.params else {})
            + "?q="
            + quote(SEARCH),
        )
        for r in found
    ]


@pytest.fixture
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.mark.usefixtures("_media")
def test_portal_pages_with_long_text(world: World, browser: Any, live_server: Any) -> None:
    values = seed_portal(world)
    _fill(world)
    pages = urls(TENANT, values) + _searches(TENANT)
    judge(walk(browser, live_server.url, world.admin_a.user, pages, customer=True, plan=PLAN))


@pytest.mark.usefixtures("_media")
def test_desk_pages_with_long_text(world: World, browser: Any, live_server: Any) -> None:
    values = seed_desk(world, seed_portal(world))
    _fill(world)
    pages = urls(DESK, values) + _searches(DESK)
    judge(walk(browser, live_server.url, world.supervisor, pages, customer=False, plan=PLAN))
