"""Every desk page names the seeded products in the reader's language (core.names), as
the portal does: the queue's rows and product filter, and the ticket page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import trans_real

from tests.conftest import World

pytestmark = pytest.mark.django_db

POLISH = "Exchange Online (po polsku)"


@pytest.fixture
def polish_product() -> Iterator[None]:
    """A Polish name for the product the test tickets name, whatever the compiled catalog
    holds: the page must take it from the catalog."""
    catalog = trans_real.translation("pl")._catalog  # type: ignore[attr-defined]
    key = "product\x04Exchange Online"
    catalog[key] = POLISH
    try:
        yield
    finally:
        for part in catalog._catalogs:
            part.pop(key, None)


def test_desk_pages_name_products_in_the_readers_language(
    world: World, client: Client, polish_product: None
) -> None:
    ticket = world.file(title="Mail stuck")
    client.force_login(world.agent)
    pages = {
        "queue": reverse("desk:home"),
        "queue rows": reverse("desk:queue_rows"),
        "ticket": reverse("desk:ticket", kwargs={"number": ticket.pk}),
    }
    for name, url in pages.items():
        polish = client.get(url, HTTP_ACCEPT_LANGUAGE="pl").content.decode()
        assert POLISH in polish, name
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert POLISH not in english and "Exchange Online" in english, name
    # The queue's product filter lists the translated names too.
    form = client.get(pages["queue"], HTTP_ACCEPT_LANGUAGE="pl").context["filter_form"]
    assert POLISH in [str(label) for _value, label in form.fields["product"].choices]
