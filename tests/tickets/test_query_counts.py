"""Hot paths keep a fixed number of queries however many tickets there are."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import World
from tickets import services
from tickets.actors import Actor

pytestmark = pytest.mark.django_db


def _many(world: World, n: int) -> None:
    for i in range(n):
        ticket = world.file(world.admin_a if i % 2 else world.admin_b, title=f"Request {i}")
        if i % 3 == 0:
            services.ticket_assign(
                ticket=ticket, actor=Actor.for_user(world.agent), assignee=world.agent,
                now=ticket.created_at,
            )  # fmt: skip


def test_desk_queue_queries_do_not_grow(
    world: World, client: Client, django_assert_max_num_queries: object
) -> None:
    _many(world, 30)
    client.force_login(world.agent)
    # The bound and its parts are pinned in tests/tickets/test_desk_queue.py.
    with django_assert_max_num_queries(13):  # type: ignore[operator]
        response = client.get(reverse("desk:home"))
    assert response.status_code == 200
    assert len(response.context["page"].rows) == 30


def test_portal_list_queries_do_not_grow(
    world: World, client: Client, django_assert_max_num_queries: object
) -> None:
    _many(world, 30)
    client.force_login(world.admin_a.user)
    with django_assert_max_num_queries(9):  # type: ignore[operator]
        response = client.get(reverse("portal:request_list", kwargs={"org": "alpha"}))
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 15


def test_filing_a_request_costs_a_bounded_number_of_queries(
    world: World, django_assert_max_num_queries: object
) -> None:
    world.file()  # warm the calendar cache, as a running process has it warm
    with django_assert_max_num_queries(10):  # type: ignore[operator]
        world.file()
