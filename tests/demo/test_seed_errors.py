"""Demo data that contradicts itself stops the command with the ticket named, and leaves
none of that organization's requests behind."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from demo import seed
from demo.data.conversation import D, DemoTicket, reply
from severity.choices import Category, Impact, Scope
from tickets.models import Ticket

# One worker runs the demo modules one after another: two of them commit the demo data
# for the module's length, which another module's "created once" check must not meet.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo")]


def _ticket(*steps: object) -> DemoTicket:
    return DemoTicket(
        1 * D, "admin", Category.TECHNICAL, "exchange-online", Impact.MINIMAL, Scope.ONE,
        "Out-of-order demo", "A reply before the request was filed.", steps=steps,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    "step",
    [reply(-timedelta(minutes=1), "agent1", "Too early."), reply(2 * D, "agent1", "Too late.")],
    ids=["before-filing", "in-the-future"],
)
def test_a_step_out_of_order_or_in_the_future_is_refused(
    monkeypatch: pytest.MonkeyPatch, step: object
) -> None:
    monkeypatch.setattr(seed, "DEMO_TICKETS", {"contoso": (_ticket(step),), "fabrikam": ()})

    with pytest.raises(CommandError, match="'Out-of-order demo': step 'reply'"):
        call_command("seed_demo", stdout=StringIO())

    assert not Ticket.objects.filter(organization__slug="contoso").exists()
