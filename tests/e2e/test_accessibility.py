"""Accessibility of the sign-in pages and the customer portal in a real browser.

On every page, and again after htmx has swapped parts of it: axe-core (vendored in
``tests/e2e/vendor``, never fetched at test time) finds no serious or critical WCAG 2.0/2.1
A or AA violation; at phone width (375 px) nothing scrolls sideways; and every stop of the
Tab key shows a focus indicator. The contact support form is filled and sent with the
keyboard alone, in the order it is shown, and its fields' edges stand out (3:1)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenants import services as tenant_services
from tenants.models import Role
from tests.conftest import World
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, MembershipFactory
from tests.helpcenter.conftest import make_article, make_incident
from tickets import services
from tickets.actors import Actor
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_URL = "/static/__axe__.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = ("serious", "critical")
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}

RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ')),
  }));
}"""

# How far the page scrolls sideways, and the innermost elements that stick out.
OVERFLOW = """() => {
  const width = window.innerWidth;
  // Inside a box that scrolls on its own (a wide table) an element is clipped, unless it
  // is positioned against something outside that box.
  const clipped = (el) => {
    if (['absolute', 'fixed'].includes(getComputedStyle(el).position)) return false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.body.querySelectorAll('*')].filter((el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.right > width + 0.5 && !clipped(el);
  });
  const innermost = wide.filter((el) => !wide.some((other) => other !== el && el.contains(other)));
  const label = (el) => {
    const classes = typeof el.className === 'string' ? el.className.trim().split(/\\s+/) : [];
    const name = [el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''), ...classes].join('.');
    return `${name} (right edge at ${Math.round(el.getBoundingClientRect().right)}px)`;
  };
  return {
    by: document.scrollingElement.scrollWidth - width,
    nodes: innermost.slice(0, 10).map(label),
  };
}"""

# The focus indicator a keyboard user sees: an outline or a focus ring drawn as a shadow.
FOCUS_STATE = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return {
    name: el.type === 'submit' ? 'submit' : (el.name || el.id || el.tagName.toLowerCase()),
    tag: el.tagName.toLowerCase(),
    path: [el, el.parentElement, el.parentElement?.parentElement].filter(Boolean).reverse()
      .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + (e.getAttribute('name') ? '[name=' + e.getAttribute('name') + ']' : '')).join(' > ')
      + ' "' + (el.innerText || el.value || '').replace(/\\s+/g, ' ').trim().slice(0, 30) + '"',
    inForm: !!el.closest('#request-form'),
    visible: outline || style.boxShadow !== 'none',
    top: box.top + window.scrollY,
    left: box.left + window.scrollX,
  };
}"""


@dataclass
class Finding:
    page: str
    rule: str
    impact: str
    help: str
    nodes: list[str]

    def __str__(self) -> str:
        targets = "\n      ".join(self.nodes)
        return f"{self.page}: [{self.impact}] {self.rule} — {self.help}\n      {targets}"


def serve_axe(page: Any) -> None:
    """Serve the vendored axe-core at a same-origin URL, so the strict CSP (script-src
    'self') lets it run without an inline script."""
    page.route(
        f"**{AXE_URL}",
        lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"),
    )


def audit(page: Any, name: str) -> list[Finding]:
    """What is wrong with the page as it is now: axe's serious and critical WCAG A/AA
    findings, sideways scrolling at phone width, and Tab stops without a focus
    indicator."""
    page.wait_for_load_state("networkidle")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    found = [
        Finding(name, v["id"], v["impact"], v["help"], v["nodes"])
        for v in page.evaluate(RUN_AXE, WCAG)
        if v["impact"] in FAILING
    ]
    page.set_viewport_size(PHONE)
    overflow = page.evaluate(OVERFLOW)
    if overflow["by"] > 0:
        found.append(
            Finding(
                name,
                "phone-width",
                "serious",
                f"scrolls sideways by {overflow['by']}px at {PHONE['width']}px",
                overflow["nodes"],
            )
        )
    page.set_viewport_size(DESKTOP)
    unseen = focus_without_indicator(page)
    if unseen:
        found.append(Finding(name, "focus-visible", "serious", "no visible focus", unseen))
    return found


def focus_without_indicator(page: Any, limit: int = 150) -> list[str]:
    """Tab through the whole page from the top: every stop must show a focus indicator."""
    page.locator(".skip-link").focus()
    page.keyboard.press("Shift+Tab")  # out of the page: the next Tab starts at the top
    unseen: list[str] = []
    first = None
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_STATE)
        if stop["tag"] == "body" or stop["path"] == first:
            break
        first = first or stop["path"]
        if not stop["visible"]:
            unseen.append(stop["path"])
    return unseen


def visit(page: Any, path: str, name: str) -> list[Finding]:
    response = page.goto(path)
    assert response.status == 200, (name, path, response.status)
    return audit(page, name)


def report(findings: list[Finding]) -> str:
    return "accessibility violations:\n" + "\n".join(str(f) for f in findings)


@pytest.fixture
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def test_sign_in_pages(world: World, page: Any, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    p = page
    serve_axe(p)
    p.set_viewport_size(DESKTOP)
    findings = visit(p, "/accounts/login/", "sign-in")

    for attempt in ("sign-in (failed)", "sign-in paused"):
        p.get_by_label("E-mail").fill(world.admin_a.user.email)
        p.get_by_label("Password").fill("not the password")
        p.get_by_role("button", name="Sign in").click()
        findings += audit(p, attempt)
    assert p.get_by_role("heading", name="Too many failed sign-in attempts").is_visible()

    findings += visit(p, "/accounts/password-reset/", "password reset")
    p.locator("input[name=email]").fill(world.admin_a.user.email)
    p.get_by_role("button").filter(has_text=re.compile("reset", re.I)).click()
    findings += audit(p, "password reset sent")

    user = world.admin_a.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    p.goto(f"/accounts/reset/{uid}/{token}/")  # redirects to the set-password form
    findings += audit(p, "set a new password")

    assert not findings, report(findings)


def _portal_data(world: World) -> dict[str, int]:
    """An incident, articles, registered contacts, a request waiting on the admin and a
    resolved one with a conversation, an attachment and the rating form."""
    now = timezone.now()
    incident = make_incident("Outbound mail is delayed", impact="degraded")
    make_article(
        "shared-mailbox",
        "Create a shared mailbox",
        "## Create it\n\nOpen **Shared mailboxes** and choose *Add*.\n\n"
        "- Name it\n- Add members\n\n[Exchange admin centre](https://example.com/)",
        services=("exchange-online",),
    )
    make_article("mailbox-size", "Increase a mailbox's size", "Mailbox quotas and archives.")
    for add, value in (
        (tenant_services.contact_phone_add, {"number": "+48 600 100 200"}),
        (tenant_services.contact_email_add, {"email": "it@alpha.test"}),
    ):
        add(
            organization=world.org_a,
            actor_membership=world.admin_a,
            label="IT",
            password=PASSWORD,
            now=now,
            **value,
        )
    agent = Actor.for_user(world.agent)
    waiting = world.file(world.admin_a, now=now)
    services.ticket_request_information(
        ticket=waiting, actor=agent, body="Please send a message trace.", now=now
    )
    solved = world.file(world.admin_a, now=now, title="Shared mailbox is missing")
    services.ticket_agent_reply(ticket=solved, actor=agent, body="Which mailbox?", now=now)
    services.ticket_customer_reply(
        ticket=solved,
        actor=Actor.for_member(world.admin_a),
        body="The sales mailbox; the headers are attached.",
        now=now,
        attachments=[SimpleUploadedFile("headers.txt", b"Received: from mx1\n")],
    )
    services.ticket_resolve(ticket=solved, actor=agent, reason="Permissions restored", now=now)
    return {"incident": incident.pk, "waiting": waiting.pk, "solved": solved.pk}


@pytest.mark.usefixtures("_media")
def test_portal_pages(world: World, page: Any) -> None:
    p = page
    ids = _portal_data(world)
    serve_axe(p)
    p.set_viewport_size(DESKTOP)
    sign_in(p, world.admin_a.user.email)
    org = "/portal/alpha"
    findings: list[Finding] = []
    for name, path in (
        ("portal home", f"{org}/"),
        ("service health", f"{org}/health/"),
        ("incident", f"{org}/health/incidents/{ids['incident']}/"),
        ("help", f"{org}/help/"),
        ("help search", f"{org}/help/?q=mailbox"),
        ("article", f"{org}/help/articles/shared-mailbox/"),
        ("phone support", f"{org}/phone/"),
        ("service report", f"{org}/report/"),
        ("my requests", f"{org}/requests/"),
        ("request waiting on the admin", f"{org}/requests/{ids['waiting']}/"),
        ("request resolved", f"{org}/requests/{ids['solved']}/"),
        ("registered contacts", f"{org}/contacts/"),
        ("add a phone number", f"{org}/contacts/phones/new/"),
        ("members", f"{org}/settings/members/"),
    ):
        findings += visit(p, path, name)

    # The parts htmx swaps in: suggestions as one types, another country's phone lines.
    p.goto(f"{org}/help/")
    p.get_by_label("Describe your problem or type keywords").press_sequentially("mailbox")
    p.get_by_role("list", name="Suggested articles").wait_for()
    findings += audit(p, "help suggestions")
    p.goto(f"{org}/phone/")
    p.get_by_role("combobox", name="Country or region").select_option("GB")
    p.locator("#phone-lines").get_by_role("link", name="0800 032 6417").first.wait_for()
    findings += audit(p, "phone support (another country)")

    findings += visit(p, f"{org}/requests/new/", "contact support")
    # No empty "articles that may help" box until there is something to suggest.
    suggested = p.get_by_role("heading", name="Articles that may help")
    assert not suggested.is_visible()
    p.get_by_label("Technical").check()
    p.get_by_label("Product").select_option(label="Exchange Online")
    p.get_by_label("Title").press_sequentially("shared mailbox")
    p.get_by_role("list", name="Suggested articles").wait_for()
    assert suggested.is_visible()
    p.get_by_label("Unavailable or unusable").check()
    p.get_by_label("Several users or services").check()
    p.locator("#assessed-severity").wait_for()
    p.locator("#product-incidents").get_by_text("Outbound mail is delayed").wait_for()
    findings += audit(p, "contact support (assessed)")

    # A failed submit: the server's errors on every required field. The browser's own
    # checks are switched off so the server answers.
    p.goto(f"{org}/requests/new/")
    p.locator("#request-form").evaluate("(f) => { f.noValidate = true; }")
    p.get_by_role("button", name="Contact me").click()
    p.wait_for_load_state("networkidle")
    assert p.get_by_role("alert").first.is_visible()
    findings += audit(p, "contact support (errors)")

    # A reply without words, and a rating with its thank-you message.
    p.goto(f"{org}/requests/{ids['waiting']}/")
    reply = p.locator("form").filter(has=p.get_by_role("button", name="Send reply"))
    reply.evaluate("(f) => { f.noValidate = true; }")
    p.get_by_role("button", name="Send reply").click()
    p.wait_for_load_state("networkidle")
    assert p.get_by_label("Your reply").get_attribute("aria-invalid") == "true"
    findings += audit(p, "reply (errors)")
    p.goto(f"{org}/requests/{ids['solved']}/")
    p.get_by_role("button", name="4 – Satisfied").click()
    p.wait_for_load_state("networkidle")
    assert p.get_by_text("You rated the support 4 out of 5.").is_visible()
    findings += audit(p, "request rated")

    # A member of two organizations switches between them from the header menu.
    MembershipFactory(organization=world.org_b, user=world.admin_a.user, role=Role.USER)
    p.goto(f"{org}/")
    p.locator("details.menu summary").click()
    findings += audit(p, "organization menu")

    # A plain user sees self-help and is sent to their admin.
    p.get_by_role("button", name="Sign out").click()
    sign_in(p, world.user_a.user.email)
    findings += visit(p, f"{org}/", "portal home (user)")
    findings += visit(p, f"{org}/requests/new/", "ask your administrator")

    assert not findings, report(findings)


# Form fields' edges against what surrounds them (WCAG 1.4.11 non-text contrast: 3:1).
FIELD_EDGES = """() => {
  const rgb = (color) => color.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const behind = (el) => {
    for (let up = el.parentElement; up; up = up.parentElement) {
      const color = rgb(getComputedStyle(up).backgroundColor);
      if (color.length < 4 || color[3] === 1) return color;
    }
    return [255, 255, 255];
  };
  const fields = document.querySelectorAll(
    '#request-form input:not([type=hidden], [type=radio], [type=checkbox]), '
    + '#request-form select, #request-form textarea');
  return [...fields].filter((el) => el.offsetParent).map((el) => {
    const [a, b] = [lum(rgb(getComputedStyle(el).borderTopColor)), lum(behind(el))];
    return {name: el.name, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
  });
}"""


def _tab_through(
    page: Any, *, until: str, keys: dict[str, str] | None = None, limit: int = 80
) -> list[dict[str, Any]]:
    """From the top of the main region, press Tab until the stop named ``until``; at a
    stop named in ``keys``, type those keys (a radio group takes Space, a select an
    arrow, a text field its text)."""
    keys = keys or {}
    page.locator("#main").focus()
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_STATE)
        stops.append(stop)
        if stop["name"] == until:
            return stops
        if stop["name"] in keys:
            typed = keys.pop(stop["name"])
            if typed in ("Space", "ArrowDown"):
                page.keyboard.press(typed)
            else:
                page.keyboard.type(typed)
    raise AssertionError(f"Tab never reached {until}: {[s['name'] for s in stops]}")


FIELDS = [
    "category",
    "product",
    "title",
    "description",
    "attachments",
    "impact",
    "scope",
    "contact_phone",
    "contact_email",
    "preferred_contact",
    "language",
    "submit",
]


def test_contact_support_by_keyboard(world: World, page: Any) -> None:
    """The form is filled and sent with the keyboard alone: Tab reaches every field once,
    in the order they are shown, each with a visible focus indicator."""
    p = page
    serve_axe(p)
    sign_in(p, world.admin_b.user.email)  # standard contract: severity A is out of reach
    p.set_viewport_size(DESKTOP)
    p.goto("/portal/bravo/requests/new/")
    p.wait_for_load_state("networkidle")
    faint = [f for f in p.evaluate(FIELD_EDGES) if f["ratio"] < 3]
    assert not faint, f"field edges below 3:1: {faint}"

    # At phone width the form is one column: each stop is below (or beside) the last.
    p.set_viewport_size(PHONE)
    stops = [s for s in _tab_through(p, until="submit") if s["inForm"]]
    for before, after in itertools.pairwise(stops):
        assert after["top"] > before["top"] - 1 or (
            abs(after["top"] - before["top"]) < 1 and after["left"] > before["left"]
        ), (before, after)
    assert all(s["visible"] for s in stops), [s["name"] for s in stops if not s["visible"]]

    p.set_viewport_size(DESKTOP)
    p.reload()
    p.wait_for_load_state("networkidle")
    stops = _tab_through(
        p,
        until="submit",
        keys={
            "category": "Space",  # the first choice: Technical
            "product": "ArrowDown",  # the first product: Exchange Online
            "title": "Nobody can send mail",
            "description": "Every message stays in the outbox.",
            "impact": "Space",  # Unavailable or unusable
            "scope": "Space",  # Several users or services
        },
    )
    fields = [s["name"] for s in stops if s["inForm"] and s["tag"] != "a"]
    assert fields == FIELDS, fields
    unseen = [s["path"] for s in stops if not s["visible"]]
    assert not unseen, f"no visible focus indicator on: {unseen}"

    p.wait_for_function(
        "() => document.querySelector('#assessed-severity')?.textContent.trim() === 'B'"
    )
    p.keyboard.press("Enter")
    p.wait_for_url(re.compile(r"/portal/bravo/requests/\d+/$"))
    ticket = Ticket.objects.get()
    assert (ticket.title, ticket.category, ticket.severity) == (
        "Nobody can send mail",
        "technical",
        "B",
    )
    assert ticket.product is not None and ticket.product.name == "Exchange Online"
    # The request's page greets it with a flash message.
    assert p.get_by_text(f"Your request {ticket.reference} was filed").is_visible()
    findings = audit(p, "request filed")
    assert not findings, report(findings)
