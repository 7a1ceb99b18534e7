"""The admin portal's request flow in a real browser (issue 6): an admin checks service
health, searches help, files a severity-A request under the standard contract and sees
it filed as B with the reason (POL-SEV-5) and the expected wait (POL-REQ-2), follows it,
answers support's information request (POL-SEV-7) and rates the support (POL-ROLE-2);
the same pages in Polish; a plain user is turned away politely (POL-WHO-1).

Screenshots go to ``test-results/screenshots/`` (gitignored) for people to look at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone

from tests.conftest import World
from tests.e2e.conftest import sign_in
from tickets import services
from tickets.actors import Actor
from tickets.models import EventKind, Rating, Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"


def shot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_an_admin_files_follows_answers_and_rates_a_request(world: World, page: object) -> None:
    p: object = page
    sign_in(p, world.admin_b.user.email)  # Bravo: standard contract, New York
    p.goto("/portal/bravo/health/")  # type: ignore[attr-defined]
    assert p.locator("h1").first.is_visible()  # type: ignore[attr-defined]
    shot(p, "01-health")
    p.goto("/portal/bravo/help/")  # type: ignore[attr-defined]
    p.get_by_label("Describe your problem or type keywords").fill("mail bounces")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Search").click()  # type: ignore[attr-defined]
    p.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    shot(p, "02-help-search")

    p.goto("/portal/bravo/")  # type: ignore[attr-defined]
    p.get_by_role("link", name="Contact support").first.click()  # type: ignore[attr-defined]
    p.wait_for_url(re.compile(r"/portal/bravo/requests/new/"))  # type: ignore[attr-defined]
    p.get_by_label("Technical").check()  # type: ignore[attr-defined]
    p.get_by_label("Product").select_option(label="Exchange Online")  # type: ignore[attr-defined]
    p.get_by_label("Title").fill("Nobody can send mail")  # type: ignore[attr-defined]
    p.get_by_label("Describe the problem").fill("Since 08:00 every message stays in the outbox.")  # type: ignore[attr-defined]
    p.get_by_label("Unavailable or unusable").check()  # type: ignore[attr-defined]
    p.get_by_label("Several users or services").check()  # type: ignore[attr-defined]
    # The live assessment: A-grade answers, capped at B by the standard contract.
    severity = p.locator("#assessed-severity")  # type: ignore[attr-defined]
    severity.wait_for()
    p.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('#assessed-severity')?.textContent.trim() === 'B'"
    )
    assert p.get_by_text("advanced support agreement").first.is_visible()  # type: ignore[attr-defined]
    wait = p.locator("#expected-wait")  # type: ignore[attr-defined]
    assert "Support will respond by" in wait.inner_text()
    assert "New York time" in wait.inner_text()
    # A is out of reach, so the severity-A duties are not asked for.
    assert not p.locator("#a-duties").is_visible()  # type: ignore[attr-defined]
    assert p.get_by_label("Contact e-mail").input_value() == world.admin_b.user.email  # type: ignore[attr-defined]
    shot(p, "03-contact-support")
    p.get_by_role("button", name="Contact me").click()  # type: ignore[attr-defined]
    p.wait_for_url(re.compile(r"/portal/bravo/requests/\d+/$"))  # type: ignore[attr-defined]
    ticket = Ticket.objects.get()
    assert ticket.severity == "B"
    assert p.get_by_text(f"Your request {ticket.reference} was filed with severity B").is_visible()  # type: ignore[attr-defined]
    assert "advanced support agreement" in p.locator("#severity-reason").inner_text()  # type: ignore[attr-defined]
    assert "Support will respond by" in p.locator("#sla-state").inner_text()  # type: ignore[attr-defined]
    shot(p, "04-request-filed")

    # Support asks for information; the admin answers through the same reply form.
    services.ticket_request_information(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Please send a message trace.",
        now=timezone.now(),
    )  # fmt: skip
    p.get_by_role("link", name="Service requests").first.click()  # type: ignore[attr-defined]
    p.get_by_role("link", name=ticket.reference).click()  # type: ignore[attr-defined]
    state = p.locator("#sla-state").inner_text()  # type: ignore[attr-defined]
    assert "Waiting for your reply" in state and "POL-" not in state
    assert p.get_by_text("Please send a message trace.").is_visible()  # type: ignore[attr-defined]
    shot(p, "05-information-requested")
    p.get_by_label("Your reply").fill("Trace attached: the connector rejects every message.")  # type: ignore[attr-defined]
    p.get_by_role("button", name="Send reply").click()  # type: ignore[attr-defined]
    p.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    assert p.get_by_text("Your reply was sent.").is_visible()  # type: ignore[attr-defined]
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.customer_due_at is None

    # Support solves it; the admin rates the support.
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="Connector fixed",
        now=timezone.now(),
    )  # fmt: skip
    p.reload()  # type: ignore[attr-defined]
    # One compact panel: the comment folded away, then one click on the fifth star.
    p.get_by_text("Add a comment (optional)").click()  # type: ignore[attr-defined]
    p.get_by_label("Comment (optional)").fill("Fast and clear.")  # type: ignore[attr-defined]
    p.get_by_role("button", name="5 – Very satisfied").click()  # type: ignore[attr-defined]
    p.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    assert p.get_by_text("You rated the support 5 out of 5.").is_visible()  # type: ignore[attr-defined]
    assert Rating.objects.get(ticket=ticket).score == 5
    assert ticket.events.filter(kind=EventKind.RATED).count() == 1
    shot(p, "06-rated")

    # At phone width nothing scrolls sideways, on the request page or the form.
    p.set_viewport_size({"width": 390, "height": 844})  # type: ignore[attr-defined]
    for name in ("request", "form"):
        if name == "form":
            p.goto("/portal/bravo/requests/new/")  # type: ignore[attr-defined]
        overflow = p.evaluate(  # type: ignore[attr-defined]
            "() => document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, (name, overflow)
        shot(p, f"08-phone-{name}")


def test_the_same_pages_in_polish(world: World, page: object) -> None:
    """Every page in English first, then in Polish: the headings change, and the chrome's
    English words are gone, replaced by their Polish translations."""
    from django.utils import translation

    p: object = page
    ticket = world.file(world.admin_b, now=timezone.now())
    sign_in(p, world.admin_b.user.email)
    pages = (
        ("requests", "/portal/bravo/requests/"),
        ("request", f"/portal/bravo/requests/{ticket.pk}/"),
        ("contact-support", "/portal/bravo/requests/new/"),
        ("members", "/portal/bravo/settings/members/"),
        ("health", "/portal/bravo/health/"),
        ("help", "/portal/bravo/help/"),
        ("phone", "/portal/bravo/phone/"),
    )
    english = {}
    for name, path in pages:
        p.goto(path)  # type: ignore[attr-defined]
        english[name] = p.locator("h1").first.inner_text()  # type: ignore[attr-defined]

    p.locator("#language-select").select_option("pl")  # type: ignore[attr-defined]
    p.locator(".header-tools form").first.get_by_role("button").click()  # type: ignore[attr-defined]
    p.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    chrome = ("Service health", "Help", "Phone support", "Sign out")
    with translation.override("pl"):
        polish_chrome = [translation.gettext(words) for words in chrome]
    assert all(pl != en for pl, en in zip(polish_chrome, chrome, strict=True))
    for name, path in (("home", "/portal/bravo/"), *pages):
        response = p.goto(path)  # type: ignore[attr-defined]
        assert response.status == 200, path
        assert p.locator("html").get_attribute("lang") == "pl", path  # type: ignore[attr-defined]
        text = p.locator("body").inner_text()  # type: ignore[attr-defined]
        for en, pl in zip(chrome, polish_chrome, strict=True):
            assert pl in text, (path, pl)
            assert en not in text, (path, en)
        if name in english and ticket.title not in english[name]:
            heading = p.locator("h1").first.inner_text()  # type: ignore[attr-defined]
            assert heading != english[name], (path, heading)
        shot(p, f"pl-{name}")


def test_a_plain_user_is_turned_away_politely(world: World, page: object) -> None:
    p: object = page
    sign_in(p, world.user_a.user.email)
    for path in ("/portal/alpha/requests/new/", "/portal/alpha/requests/"):
        response = p.goto(path)  # type: ignore[attr-defined]
        assert response.status == 200
        assert p.get_by_role("heading", name="Ask your administrator").is_visible()  # type: ignore[attr-defined]
    assert not p.get_by_role("button", name="Contact me").count()  # type: ignore[attr-defined]
    shot(p, "07-plain-user")


def test_severity_a_asks_for_its_duties_as_the_admin_answers(world: World, page: object) -> None:
    """POL-SLA-2 with the advanced contract: the duties appear once A is within reach, and
    the live assessment turns to A when both are given."""
    p: object = page
    sign_in(p, world.admin_a.user.email)
    p.goto("/portal/alpha/requests/new/")  # type: ignore[attr-defined]
    duties = p.locator("#a-duties")  # type: ignore[attr-defined]
    assert not duties.is_visible()
    p.get_by_label("Technical").check()  # type: ignore[attr-defined]
    p.get_by_label("Unavailable or unusable").check()  # type: ignore[attr-defined]
    p.get_by_label("Several users or services").check()  # type: ignore[attr-defined]
    duties.wait_for(state="visible")
    assert p.locator("#assessed-severity").inner_text().strip() == "B"  # type: ignore[attr-defined]
    p.get_by_label("Business impact").fill("Orders cannot be confirmed by e-mail.")  # type: ignore[attr-defined]
    p.get_by_label("Contact reachable 24x7").fill("Jan Nowak, +48 600 100 200")  # type: ignore[attr-defined]
    p.get_by_label("Contact reachable 24x7").blur()  # type: ignore[attr-defined]
    p.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('#assessed-severity')?.textContent.trim() === 'A'"
    )
    assert "Warsaw time" in p.locator("#expected-wait").inner_text()  # type: ignore[attr-defined]
    shot(p, "09-severity-a")
