"""Self-help in a real browser: a plain user checks service health, gets article
suggestions as they type, opens one, and finds the phone numbers for a country."""

from __future__ import annotations

import re

import pytest

from helpcenter.models import ArticleImpression, HelpSearch
from tests.conftest import World
from tests.e2e.conftest import sign_in
from tests.helpcenter.conftest import make_article, make_incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_plain_user_uses_self_help(world: World, page: object) -> None:
    p: object = page
    make_incident("Outbound mail is delayed", impact="degraded")
    make_article(
        "shared-mailbox",
        "Create a shared mailbox",
        "## Create it\n\nOpen **Shared mailboxes** and choose *Add*.",
        services=("exchange-online",),
    )
    make_article("password-never-expires", "Set a password that never expires", "Policy.")

    sign_in(p, world.user_a.user.email)
    # POL-SELF-1: the known incident is on the portal home, first.
    health = p.get_by_role("region", name=re.compile("known issue"))  # type: ignore[attr-defined]
    assert health.get_by_text("Outbound mail is delayed").is_visible()
    p.get_by_role("navigation", name="Main").get_by_role(  # type: ignore[attr-defined]
        "link", name="Service health"
    ).click()
    current = p.get_by_role("region", name="Current incidents")  # type: ignore[attr-defined]
    current.get_by_role("link", name="Outbound mail is delayed").click()
    assert p.get_by_role("heading", name="Outbound mail is delayed").is_visible()  # type: ignore[attr-defined]

    # POL-SELF-2 / POL-SELF-3: suggestions appear as a plain user types.
    p.get_by_role("navigation", name="Main").get_by_role("link", name="Help").click()  # type: ignore[attr-defined]
    box = p.get_by_label("Describe your problem or type keywords")  # type: ignore[attr-defined]
    box.press_sequentially("shared mailb", delay=40)
    suggestions = p.get_by_role("list", name="Suggested articles")  # type: ignore[attr-defined]
    suggestion = suggestions.get_by_role("link", name="Create a shared mailbox")
    suggestion.wait_for()
    assert suggestions.get_by_role("link").count() == 1
    assert "/help/" in p.url and "q=" not in p.url  # type: ignore[attr-defined]  # no reload
    suggestion.click()
    assert p.get_by_role("heading", name="Create a shared mailbox").is_visible()  # type: ignore[attr-defined]
    assert p.get_by_role("heading", name="Create it").is_visible()  # type: ignore[attr-defined]
    # One question typed, one search recorded, and the opened article counted.
    assert HelpSearch.objects.count() == 1
    assert ArticleImpression.objects.get().opened_at is not None

    # POL-PHONE-1: the organization's country (Poland) has no line: the default answers;
    # choosing a country swaps in its lines.
    p.get_by_role("navigation", name="Main").get_by_role("link", name="Phone support").click()  # type: ignore[attr-defined]
    lines = p.locator("#phone-lines")  # type: ignore[attr-defined]
    assert lines.get_by_text("There is no local number for Poland").is_visible()
    assert lines.get_by_text("+44 20 7946 0000").first.is_visible()
    p.get_by_role("combobox", name="Country or region").select_option("GB")  # type: ignore[attr-defined]
    lines.get_by_role("link", name="0800 032 6417").first.wait_for()
    assert lines.get_by_role("heading", name="Billing help").is_visible()
    assert lines.get_by_text("09:00–17:00, Monday to Friday, in English.").is_visible()
    assert "country=GB" in p.url  # type: ignore[attr-defined]
    assert p.get_by_text("Have your account details ready").is_visible()  # type: ignore[attr-defined]
