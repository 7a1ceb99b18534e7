"""Words for customers and the portal's second pass (issue 16, items 6 and 7): no policy
ids or workers' names in what customers read, short reasons with "why?", reasons in the
reader's language, the role's categories only, the compact panel after resolving with a
one-click star rating, the admins named, the size check's limits, seeded names
translated, and the favicon."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.templatetags.static import static
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from core import names
from helpcenter.models import Service
from severity import assessment as sev
from tenants.models import Role
from tests.conftest import World
from tests.factories import MembershipFactory
from tickets import outbox, reasons, services
from tickets import sweep as sweeping
from tickets.actors import Actor
from tickets.models import Event, EventKind, Status, Ticket

pytestmark = pytest.mark.django_db

POLICY_ID = re.compile(r"POL-[A-Z]+")
# Workers' names: what the Events record as the acting system, never customer text.
WORKER_NAMES = ("sweep", "deadline-worker", "sla-remeasure", "auto-close")

A_READY = {
    "impact": "service_down",
    "scope": "many",
    "business_impact": "Mail is down for the whole company.",
    "contact_24x7": "Duty IT +48 601 234 567",
}


@pytest.fixture(autouse=True)
def _config(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    settings.SITE_URL = "https://desk.example.test"
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, DEADLINE_TASKS=False, OUTBOX_TASKS=False
    )


def _portal(name: str, org: str = "alpha", **kwargs: Any) -> str:
    return reverse(f"portal:{name}", kwargs={"org": org, **kwargs})


def _detail(ticket: Ticket) -> str:
    return _portal("request_detail", number=ticket.pk)


def _assert_customer_text(html: str, where: str) -> None:
    found = POLICY_ID.search(html)
    assert found is None, f"{where}: {html[max(0, found.start() - 120) : found.end() + 40]}"


def _last(ticket: Ticket, kind: str) -> Event:
    return ticket.events.filter(kind=kind).order_by("-created_at", "-pk")[0]


def _a_request_through_its_life(world: World, *, language: str = "en") -> Ticket:
    """Filed as A, asked for information, lowered twice by the sweep (A → B → C), then a
    reminder: every worker's reason a customer can read."""
    now = timezone.now()
    ticket = world.file(now=now, language=language, **A_READY)
    services.ticket_request_information(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Logs, please?", now=now
    )
    for _ in range(3):
        ticket.refresh_from_db()
        assert ticket.customer_due_at is not None
        sweeping.sweep(now=ticket.customer_due_at, worker="sweep")
    ticket.refresh_from_db()
    assert ticket.events.filter(kind=EventKind.DOWNGRADED).count() == 2
    assert ticket.events.filter(kind=EventKind.REMINDED).exists()
    return ticket


# --- No policy ids, no workers' names ------------------------------------------------------


def test_no_policy_id_on_any_portal_page(world: World, client: Client) -> None:
    lifelong = _a_request_through_its_life(world)
    resolved = world.file(now=timezone.now(), title="Resolved one")
    services.ticket_resolve(
        ticket=resolved, actor=Actor.for_user(world.agent), reason="Fixed", now=timezone.now()
    )
    emailed = world.file(now=timezone.now(), title="Minimal", impact="minimal", scope="one")
    client.force_login(world.admin_a.user)
    pages = {
        "home": _portal("home"),
        "list": _portal("request_list"),
        "list (all)": _portal("request_list") + "?status=all",
        "new": _portal("request_new"),
        "lowered request": _detail(lifelong),
        "resolved request": _detail(resolved),
        "minimal request": _detail(emailed),
        "help": _portal("help"),
    }
    for language in ("en", "pl"):
        for where, url in pages.items():
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
            assert response.status_code == 200, where
            _assert_customer_text(response.content.decode(), f"{where} ({language})")
    # The live assessment for every answer, including the caps and the A duties.
    for answers in (
        {"category": "technical", "impact": "service_down", "scope": "many"},
        {"category": "technical", "impact": "minimal", "scope": "one"},
        {"category": "billing", "impact": "service_down", "scope": "many"},
        {"category": "presales", "impact": "degraded", "scope": "one"},
    ):
        fragment = client.post(_portal("request_assess"), answers).content.decode()
        assert 'id="assessed-severity"' in fragment
        _assert_customer_text(fragment, f"assessment {answers}")
    # The workers act as "Automatic SLA check", never under their own names.
    page = client.get(_detail(lifelong)).content.decode()
    assert "Automatic SLA check" in page
    timeline = page[page.index('class="timeline') :]
    for name in WORKER_NAMES:
        assert name not in timeline


@pytest.mark.parametrize("language", ["en", "pl"])
def test_no_policy_id_in_customer_mail(world: World, language: str) -> None:
    mail.outbox.clear()
    ticket = _a_request_through_its_life(world, language=language)
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=timezone.now()
    )
    # Whatever the sweeps have not sent yet.
    outbox.deliver_events(
        list(ticket.events.order_by("pk").values_list("pk", flat=True)), now=timezone.now()
    )
    customer = {world.admin_a.user.email.lower()}
    to_customer = [m for m in mail.outbox if {a.lower() for a in m.to} & customer]
    # Received, information asked, lowered twice, reminder, resolved.
    assert len(to_customer) >= 6, [m.subject for m in to_customer]
    for message in to_customer:
        assert isinstance(message, EmailMultiAlternatives)
        for text in (message.subject, message.body, str(message.alternatives[0][0])):
            _assert_customer_text(text, message.subject)
            for name in WORKER_NAMES:
                assert f" {name} " not in text


def test_the_customer_api_gives_reasons_without_policy_ids(world: World) -> None:
    ticket = _a_request_through_its_life(world)
    from tickets.serializers import EventOut

    lowered = _last(ticket, EventKind.DOWNGRADED)
    assert "POL-SEV-7" in lowered.reason  # the desk reads it as stored
    data = EventOut(lowered).data
    assert data["reason"].startswith("We asked for information")
    assert "POL-" not in data["reason"]
    assert data["after"]["severity"] == "C"


def test_old_and_new_reason_texts_lose_their_ids() -> None:
    assert reasons.without_policy_ids("Lowered (POL-SEV-7). Reply.") == "Lowered. Reply."
    assert reasons.without_policy_ids("Caps (POL-SEV-1..6, POL-SLA-2) apply") == "Caps apply"
    assert reasons.without_policy_ids("See (POL-SEV-5/6).") == "See."
    assert reasons.without_policy_ids("No id here.") == "No id here."


# --- Short reasons, "why?" and the reader's language ---------------------------------------


def test_reason_is_one_line_with_why_to_expand(world: World, client: Client) -> None:
    ticket = world.file(now=timezone.now(), category="billing", impact="service_down", scope="many")
    client.force_login(world.admin_a.user)
    page = client.get(_detail(ticket)).content.decode()
    block = page[page.index('id="severity-reason"') :]
    block = block[: block.index("</dd>")]
    summary = re.search(r'<p class="mb-0 reason-summary">(.*?)</p>', block, re.S)
    assert summary is not None
    assert summary.group(1).strip() == ("Filed as B: severity A is for technical requests only.")
    assert "<details" in block and "why?" in block
    # The full explanation is behind "why?": the matrix cell, the cap and the target.
    assert "unavailable for several users or services" in block
    assert "billing and subscription requests are handled at most as B" in block


def test_stored_reasons_are_rendered_in_the_readers_language(world: World, client: Client) -> None:
    ticket = world.file(now=timezone.now(), impact="degraded", scope="one")
    assert "usable but impaired" in ticket.severity_reason  # stored in English
    with translation.override("pl"):
        outcome = sev.assess(
            category="technical",
            impact="degraded",
            scope="one",
            contract=world.org_a.contract,
            has_business_impact_statement=False,
            has_24x7_contact=False,
        )
        polish = [reason.message for reason in outcome.reasons]
    assert polish[0] != ticket.severity_reason.split(": severity")[0]
    client.force_login(world.admin_a.user)
    page = client.get(_detail(ticket), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    block = page[page.index('id="severity-reason"') :]
    block = block[: block.index("</dd>")]
    for sentence in polish:
        assert sentence in block.replace("&#x27;", "'").replace("&quot;", '"')
    assert "usable but impaired" not in block


def test_a_changed_assessment_falls_back_to_the_stored_text(world: World) -> None:
    ticket = world.file(now=timezone.now())
    ticket.severity_reason = "Stored words (POL-SEV-3)."
    ticket.impact = "minimal"  # no longer what the Event recorded
    explanation = reasons.explain_severity(ticket, ticket.events.all())
    assert explanation is not None
    assert explanation.summary == "Stored words."


def test_the_timeline_shows_workers_reasons_in_polish(world: World, client: Client) -> None:
    ticket = _a_request_through_its_life(world)
    lowered = _last(ticket, EventKind.DOWNGRADED)
    with translation.override("pl"):
        expected = reasons.event_reason(lowered)
    assert "POL-" not in expected and "B" in expected
    client.force_login(world.admin_a.user)
    page = client.get(_detail(ticket), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert expected.replace("'", "&#x27;") in page


# --- New request: the role's categories only ------------------------------------------------


def test_a_billing_admin_sees_technical_disabled_with_the_reason(
    world: World, client: Client
) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    client.force_login(billing.user)
    page = client.get(_portal("request_new")).content.decode()
    technical = re.search(r'<input[^>]*value="technical"[^>]*>', page)
    assert technical is not None and "disabled" in technical.group(0)
    assert 'aria-describedby="' in technical.group(0)
    billing_option = re.search(r'<input[^>]*value="billing"[^>]*>', page)
    assert billing_option is not None and "disabled" not in billing_option.group(0)
    assert "As Billing admin you cannot file Technical requests." in page


def test_no_severity_or_wait_for_a_category_the_role_cannot_file(
    world: World, client: Client
) -> None:
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    client.force_login(billing.user)
    answers = {"category": "technical", "impact": "service_down", "scope": "many"}
    fragment = client.post(_portal("request_assess"), answers).content.decode()
    assert 'role="alert"' in fragment
    assert 'id="assessed-severity"' not in fragment
    assert 'id="expected-wait"' not in fragment
    allowed = client.post(_portal("request_assess"), {**answers, "category": "billing"})
    assert 'id="assessed-severity"' in allowed.content.decode()


# --- After resolving: one compact panel -----------------------------------------------------


def test_resolved_request_has_one_compact_panel_with_a_star_row(
    world: World, client: Client
) -> None:
    ticket = world.file(now=timezone.now())
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=timezone.now()
    )
    client.force_login(world.admin_a.user)
    page = client.get(_detail(ticket)).content.decode()
    panel = page[page.index('id="resolved-panel"') :]
    panel = panel[: panel.index("</section>")]
    stars = re.findall(
        r'<button type="submit" class="star" name="score" value="(\d)" '
        r'aria-label="([^"]+)"',
        panel,
    )
    assert [value for value, _ in stars] == ["1", "2", "3", "4", "5"]
    assert dict(stars)["5"] == "5 – Very satisfied"
    assert 'type="radio"' not in panel
    # Reply and reopen are in the same panel, folded until asked for.
    assert panel.count("<details") == 3  # comment, reply, reopen
    assert 'value="reply"' in panel and 'value="reopen"' in panel
    assert 'id="card-reopen"' not in page and page.count('name="action" value="rate"') == 1

    # One click on the fourth star rates; the comment goes with it.
    response = client.post(_detail(ticket), {"action": "rate", "score": "4", "comment": "OK"})
    assert response.status_code == 302
    rated = client.get(_detail(ticket)).content.decode()
    assert "You rated the support 4 out of 5." in rated
    assert 'class="star"' not in rated


def test_the_star_labels_are_the_surveys_scale() -> None:
    from tickets.forms import RatingForm, SurveyCommentForm

    assert SurveyCommentForm.base_fields["score"].choices == (  # type: ignore[attr-defined]
        RatingForm.base_fields["score"].choices  # type: ignore[attr-defined]
    )


# --- "Ask your admin" ------------------------------------------------------------------------


def test_ask_your_admin_names_the_admins_and_links_self_help(world: World, client: Client) -> None:
    world.org_a.name = "Contoso Ltd."
    world.org_a.save(update_fields=["name"])
    admin = world.admin_a.user
    admin.full_name = "Ada Admin"
    admin.save(update_fields=["full_name"])
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    client.force_login(world.user_a.user)
    page = client.get(_portal("request_list")).content.decode()
    admins = page[page.index('id="organization-admins"') :]
    admins = admins[: admins.index("</ul>")]
    assert "Ada Admin" in admins and f'href="mailto:{admin.email}"' in admins
    assert billing.user.email in admins
    assert admins.index("Ada Admin") < admins.index(billing.user.email)  # global first
    assert world.admin_b.user.email not in page  # another organization's admin
    assert f'href="{_portal("help")}"' in page
    assert "Contoso Ltd.." not in page and "Contoso Ltd." in page


# --- Attachments: the limits for the browser's check ----------------------------------------


def test_the_upload_input_carries_the_limits_for_the_browser(
    world: World, client: Client, settings: Any
) -> None:
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, ATTACHMENT_MAX_BYTES=2 * 1024 * 1024
    )
    client.force_login(world.admin_a.user)
    page = client.get(_portal("request_new")).content.decode()
    upload = re.search(r'<input type="file"[^>]*>', page)
    assert upload is not None
    assert 'data-max-bytes="2097152"' in upload.group(0)
    assert "would be refused" in upload.group(0) and "{name}" in upload.group(0)
    js = (Path(settings.BASE_DIR) / "static" / "js" / "app.js").read_text()
    assert "dataset.maxBytes" in js and "setCustomValidity" in js


# --- Seeded names in the reader's language ---------------------------------------------------


def test_every_seeded_product_and_calendar_name_is_marked_for_translation() -> None:
    from importlib import import_module

    products = import_module("helpcenter.migrations.0002_seed_services").SERVICES
    calendars = import_module("severity.migrations.0002_seed_policy").CALENDARS
    assert {name for _, name in products} == set(names.PRODUCT_NAMES)
    assert set(calendars) == set(names.CALENDAR_NAMES)


def test_seeded_names_go_through_the_catalog() -> None:
    from django.utils.translation import trans_real

    catalog = trans_real.translation("pl")._catalog  # type: ignore[attr-defined]
    added = {
        "product\x04Admin centre": "Centrum administracyjne",
        "business calendar\x04Billing": "Rozliczenia",
    }
    for key, value in added.items():
        catalog[key] = value
    try:
        with translation.override("pl"):
            assert names.product_name("Admin centre") == "Centrum administracyjne"
            assert str(Service(name="Admin centre")) == "Centrum administracyjne"
            assert names.calendar_name("Billing") == "Rozliczenia"
            # A name typed later is shown as typed.
            assert names.product_name("Typed by a supervisor") == "Typed by a supervisor"
        assert names.product_name("Admin centre") == "Admin centre"
    finally:
        for key in added:
            for part in catalog._catalogs:  # Django's TranslationCatalog has no __delitem__
                part.pop(key, None)


# --- Favicon ---------------------------------------------------------------------------------


def test_the_favicon_is_linked_and_served(client: Client) -> None:
    page = client.get(reverse("login")).content.decode()
    link = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert link is not None and link.group(1) == static("favicon.svg")
    found = finders.find("favicon.svg")
    assert found and Path(str(found)).read_text().startswith("<svg")
    probe = client.get("/favicon.ico")
    assert probe.status_code == 301 and probe["Location"] == link.group(1)


def test_status_texts_for_customers_have_no_policy_ids(world: World) -> None:
    from tickets.expectations import sla_state

    ticket = world.file(now=timezone.now())
    services.ticket_request_information(
        ticket=ticket, actor=Actor.for_user(world.agent), body="?", now=timezone.now()
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CUSTOMER
    state = sla_state(ticket, now=timezone.now())
    assert "may be lowered" in state.text and "POL-" not in state.text


def test_the_desk_reads_severity_reasons_in_its_language_with_the_ids(
    world: World, client: Client
) -> None:
    ticket = world.file(now=timezone.now(), impact="degraded", scope="one")
    with translation.override("pl"):
        outcome = sev.assess(
            category="technical",
            impact="degraded",
            scope="one",
            contract=world.org_a.contract,
            has_business_impact_statement=False,
            has_24x7_contact=False,
        )
    client.force_login(world.agent)
    page = client.get(
        reverse("desk:ticket", kwargs={"number": ticket.reference}), HTTP_ACCEPT_LANGUAGE="pl"
    ).content.decode()
    block = page[page.index('id="severity-reason"') :]
    block = block[: block.index("</ul>")]
    for reason in outcome.reasons:
        assert f'title="{reason.policy}"' in block  # the desk keeps the ids
        assert reason.message.replace("'", "&#x27;") in block
