"""Every portal and desk page at phone, small laptop, laptop and desktop width, in English
and in Polish, in a real browser.

The pages come from the URL patterns (``tests/test_route_walk.py``), their parameters
filled from seeded data, so a new page is walked without being listed here. A route that
is not a page — a download, a CSV, an htmx fragment — must be named in ``NOT_PAGES``; one
that answers a GET with 405 or a redirect is an action, not a page.

A page fails when it scrolls sideways, when a table cell is cut off (its right edge beyond
its scroll box or the window, with nothing to scroll), or, on a customer's page, when any
visible text names a policy id ("POL-…": POLICY.md's ids are for staff, issue 16 §6).
A screenshot of each page at each width and language is kept in ``var/artifacts/
screenshots/`` (CI keeps the folder as an artefact; ``SUPPORTDESK_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.conftest import World
from tests.test_route_walk import (
    DESK,
    TENANT,
    Route,
    _incoming_mail,
    _privacy_desk_ids,
    _sla_ids,
    _url,
    _values_for,
    classify,
    routes,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1024, 1366, 1920)
HEIGHT = 900
LANGUAGES = ("en", "pl")
ARTIFACTS = Path(os.environ.get("SUPPORTDESK_ARTIFACTS", settings.BASE_DIR / "var" / "artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"
# Whole-page screenshots take most of the walk's time: the phone and the laptop widths.
SCREENSHOT_WIDTHS = (390, 1366)

# Routes that answer a GET with something that is not a page of its own.
NOT_PAGES: dict[str, str] = {
    "portal:attachment_download": "a download",
    "desk:ticket_attachment": "a download",
    "desk:reports_csv": "a CSV file",
    "desk:audit_csv": "a CSV file",
    "portal:settings_audit_csv": "a CSV file",
    "portal:help_suggest": "htmx fragment: suggested articles",
    "portal:incidents_for_service": "htmx fragment: a product's incidents",
    "portal:request_assess": "htmx fragment: the assessed severity",
    "desk:queue_rows": "htmx fragment: the queue's rows",
    "notices:bell": "htmx fragment: the notices bell",
    "slapolicies:job_progress": "htmx fragment: a re-measure's progress bar",
    "slapolicies:review_preview": "htmx fragment: an SLA review preview's progress, then result",
    "privacy:export_progress": "htmx fragment: an export's progress bar",
    "privacy:export_download": "a download",
    "privacy_portal:export_progress": "htmx fragment: an export's progress bar",
    "privacy_portal:export_download": "a download",
}


@dataclass(frozen=True)
class Known:
    """A finding another part of issue 16 owns and CSS cannot fix: the walk reports it as
    an expected failure (the test xfails, not strict) until that part lands."""

    route: str
    check: str  # "sideways", "clipped", "policy-id" or "runaway"
    reason: str
    widths: tuple[int, ...] = WIDTHS
    languages: tuple[str, ...] = LANGUAGES


KNOWN: list[Known] = []


# Sideways scrolling, cut-off table cells and the innermost elements that stick out.
INSPECT = """() => {
  const width = window.innerWidth;
  const scroller = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return up;
    }
    return null;
  };
  const label = (el) => {
    const classes = typeof el.className === 'string' ? el.className.trim().split(/\\s+/) : [];
    const name = [el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''), ...classes]
      .filter(Boolean).join('.');
    const text = (el.innerText || '').replace(/\\s+/g, ' ').trim().slice(0, 40);
    return `${name} "${text}" (right edge at ${Math.round(el.getBoundingClientRect().right)}px)`;
  };
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const wide = [...document.body.querySelectorAll('*')].filter((el) => {
    if (!visible(el) || ['absolute', 'fixed'].includes(getComputedStyle(el).position)) return false;
    return el.getBoundingClientRect().right > width + 1 && !scroller(el);
  });
  const innermost = wide.filter((el) => !wide.some((o) => o !== el && el.contains(o)));
  // Text can stick out of a box that itself fits: name the box that holds it.
  if (document.scrollingElement.scrollWidth > width + 1) {
    const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let node = texts.nextNode(); node && innermost.length < 6; node = texts.nextNode()) {
      range.selectNodeContents(node);
      const box = range.getBoundingClientRect();
      const holder = node.parentElement;
      const out = box.width > 0 && box.right > width + 1;
      if (out && !scroller(node) && !innermost.includes(holder)) {
        innermost.push(holder);
      }
    }
  }
  const clipped = [];
  for (const cell of document.querySelectorAll('th, td')) {
    if (!visible(cell) || cell.closest('.visually-hidden')) continue;
    const right = cell.getBoundingClientRect().right;
    const box = scroller(cell);
    // A box of one pixel hides its cells on purpose (a visually hidden table head).
    if (box && box.getBoundingClientRect().width <= 1) continue;
    if (box) {
      const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX)
        && box.scrollWidth > box.clientWidth + 1;
      const edge = Math.min(box.getBoundingClientRect().right, width);
      if (right > edge + 1 + (scrolls ? box.scrollWidth - box.clientWidth : 0)) {
        clipped.push(label(cell));
      }
    } else if (right > width + 1) {
      clipped.push(label(cell));
    }
  }
  let widest = {width: 0, label: ''};
  for (const el of document.body.querySelectorAll('*')) {
    // A text field scrolls its own value; it is as wide as it is drawn.
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName)) continue;
    // Only a box that scrolls: one that clips its text with an ellipsis means to.
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
    if (scrolls && el.scrollWidth > widest.width) {
      widest = {width: el.scrollWidth, label: label(el)};
    }
  }
  return {
    widest,
    by: document.scrollingElement.scrollWidth - width,
    nodes: innermost.slice(0, 6).map(label),
    clipped: clipped.slice(0, 6),
    text: document.body.innerText,
  };
}"""

POLICY_ID = re.compile(r"POL-[A-Z0-9-]*")


@dataclass(frozen=True)
class Plan:
    """What a walk does: at which widths and in which languages, with screenshots or not,
    and whether a scroll box may grow without bound (it may not with long text)."""

    widths: tuple[int, ...] = WIDTHS
    languages: tuple[str, ...] = LANGUAGES
    screenshots: bool = True
    runaway: bool = False


# A table may scroll sideways in its box, as wide as the longest field a cell holds (a
# 500-character webhook URL is some 4,500 px), but a pasted log is 150,000 px.
RUNAWAY_PX = 6_000


@dataclass
class Finding:
    route: str
    url: str
    language: str
    width: int
    check: str
    detail: str

    def __str__(self) -> str:
        where = f"{self.route} [{self.language} {self.width}px]"
        return f"{where} {self.check}: {self.detail} ({self.url})"


def inspect(
    page: Any, route: str, url: str, language: str, *, customer: bool, plan: Plan
) -> list[Finding]:
    """The page at every width: what scrolls sideways, what is cut off, on a customer's
    page any policy id, and (``plan.runaway``) a scroll box grown wider than any
    field could make it; a screenshot at some widths."""
    found: list[Finding] = []
    slug = re.sub(r"[^a-z0-9]+", "-", (route + url.partition("?")[1]).lower()).strip("-")
    for width in plan.widths:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        state = page.evaluate(INSPECT)
        where = (route, url, language, width)
        if state["by"] > 1:
            detail = f"scrolls sideways by {state['by']}px; " + "; ".join(state["nodes"])
            found.append(Finding(*where, "sideways", detail))
        if state["clipped"]:
            found.append(Finding(*where, "clipped", "; ".join(state["clipped"])))
        if customer and POLICY_ID.search(state["text"]):
            ids = sorted(set(POLICY_ID.findall(state["text"])))
            found.append(Finding(*where, "policy-id", ", ".join(ids)))
        if plan.runaway and state["widest"]["width"] > RUNAWAY_PX:
            widest = state["widest"]
            detail = f"a scroll box {widest['width']}px wide: {widest['label']}"
            found.append(Finding(*where, "runaway", detail))
        if plan.screenshots and width in SCREENSHOT_WIDTHS:
            folder = SCREENSHOTS / language / str(width)
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{slug}.png"), full_page=True)
    return found


def settle(page: Any) -> None:
    """Let htmx fetch what a page loads after itself; a page that polls never idles."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=2_500)


@dataclass
class Walked:
    pages: list[str]
    findings: list[Finding]


def _is_page(client: Client, route: Route, url: str) -> bool:
    """Whether the route's GET is a page of the site; an action (405, or a redirect) is
    not, and anything else that is not must be named in ``NOT_PAGES``."""
    response = client.get(url)
    if response.status_code == 405 or 300 <= response.status_code < 400:
        return False
    assert response.status_code == 200, (route.name, url, response.status_code)
    kind = response.headers.get("Content-Type", "")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    is_page = "text/html" in kind and b'class="site-header"' in body
    if route.name in NOT_PAGES:
        assert not is_page, f"{route.name} is a page: take it out of NOT_PAGES"
        return False
    assert is_page, (
        f"{route.name} ({url}) answered {kind!r} without the site's header: "
        "name it in NOT_PAGES if it is not a page"
    )
    return True


def walk(
    browser: Any,
    base_url: str,
    user: Any,
    walked: list[tuple[Route, str]],
    *,
    customer: bool,
    plan: Plan = Plan(),
) -> Walked:
    """Sign ``user`` in (a session cookie, as the sign-in form would set) and visit each
    URL in each language."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context = browser.new_context(base_url=base_url, locale="en-GB", timezone_id="UTC")
    context.set_default_timeout(15_000)
    page = context.new_page()
    pages: list[str] = []
    findings: list[Finding] = []
    html = [(route, url) for route, url in walked if _is_page(client, route, url)]
    try:
        for language in plan.languages:
            context.add_cookies(
                [
                    {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url},
                    {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url},
                ]
            )
            for route, url in html:
                page.set_viewport_size({"width": plan.widths[-1], "height": HEIGHT})
                response = page.goto(url, wait_until="load")
                assert response is not None and response.status == 200, (route.name, url)
                assert page.evaluate("document.documentElement.lang") == language, url
                settle(page)
                pages.append(f"{language} {route.name}")
                findings += inspect(page, route.name, url, language, customer=customer, plan=plan)
    finally:
        context.close()
    return Walked(pages, findings)


def judge(walked: Walked) -> None:
    """Fail on anything not known; xfail (naming the defects) when only known ones remain."""
    assert walked.pages, "no page was walked"

    def known(finding: Finding) -> Known | None:
        for k in KNOWN:
            if (k.route, k.check) == (finding.route, finding.check) and (
                finding.width in k.widths and finding.language in k.languages
            ):
                return k
        return None

    unexpected = [f for f in walked.findings if known(f) is None]
    assert not unexpected, "responsive walk:\n" + "\n".join(map(str, unexpected))
    reasons = sorted({k.reason for f in walked.findings if (k := known(f)) is not None})
    if reasons:
        pytest.xfail("; ".join(reasons))


def urls(kind: str, values: dict[str, object]) -> list[tuple[Route, str]]:
    return [(route, _url(route, values)) for route in routes() if classify(route) == kind]


@pytest.fixture
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)


def seed_portal(world: World) -> dict[str, object]:
    """A request with a conversation, an attachment and the rating form; contacts,
    articles and an incident (the accessibility walk's data), and the ids of each."""
    from tests.e2e.test_accessibility import _portal_data
    from tickets.models import Ticket

    ids = _portal_data(world)
    solved = Ticket.objects.get(pk=ids["solved"])
    return {**_values_for(world, solved, world.org_a.slug), "incident": ids["incident"]}


def seed_desk(world: World, values: dict[str, object]) -> dict[str, object]:
    """On top of the portal's ids: the supervisor's verified phone call, a saved view,
    a report, the request's original e-mail and the SLA editor's ids."""
    from datetime import timedelta

    from tenants.models import RegisteredPhone
    from tickets.models import SavedView, Ticket
    from verification.services import call_start

    now = timezone.now()
    RegisteredPhone.objects.filter(organization=world.org_a, number="+48600100123").update(
        active_from=now - timedelta(days=3)
    )
    ticket = Ticket.objects.get(pk=values["number"])
    call = call_start(
        agent=world.supervisor, organization=world.org_a, caller_number="+48600100123", now=now
    )
    view = SavedView.objects.create(user=world.supervisor, name="Mine", query="assignee=me")
    return values | {
        "call": call.pk,
        "view": view.pk,
        "report": "severity",
        "mail": _incoming_mail(world, ticket).pk,
        **_sla_ids(),
        **_privacy_desk_ids(world),
    }


@pytest.mark.usefixtures("_media")
def test_portal_pages(world: World, browser: Any, live_server: Any) -> None:
    values = seed_portal(world)
    walked = walk(browser, live_server.url, world.admin_a.user, urls(TENANT, values), customer=True)
    judge(walked)


@pytest.mark.usefixtures("_media")
def test_desk_pages(world: World, browser: Any, live_server: Any) -> None:
    values = seed_desk(world, seed_portal(world))
    walked = walk(browser, live_server.url, world.supervisor, urls(DESK, values), customer=False)
    judge(walked)
