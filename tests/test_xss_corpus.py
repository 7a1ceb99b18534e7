"""XSS corpus (production issue): hostile text in every place a user can write it —
organization and people's names, ticket title and body, messages and notes, reasons,
ratings, article Markdown, incidents, file names, saved views, API key names — and every
page and e-mail that shows it, for each kind of reader: no script we did not write, no
``on*=`` handler, no ``javascript:`` URL in the output.

The check parses the HTML (html.parser) rather than searching the text: an escaped
``&lt;script&gt;`` is the correct output, and must not count. Each page must also show
the hostile text escaped, so a page that stopped rendering user text cannot pass by
accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from helpcenter.models import Article, Incident, Service
from helpcenter.services import article_save, incident_post_update
from tests.conftest import T0, World
from tests.test_route_walk import DESK, TENANT, _url, classify, routes
from tickets import services
from tickets.actors import Actor
from tickets.models import Attachment, Macro, SavedView, Ticket

pytestmark = pytest.mark.django_db

HOSTILE = (
    '<script>alert("x")</script><img src=x onerror=alert(1)>"><svg onload=alert(1)>'
    "<a href=\"javascript:alert(1)\">j</a><iframe src='javascript:alert(1)'></iframe>"
)
MARKDOWN = (
    f"# Steps\n\n{HOSTILE}\n\n[click](javascript:alert(1)) "
    '[data](data:text/html;base64,PHNjcmlwdD4=) <a href="javascript:alert(2)" onclick="x()">a</a>'
)
ESCAPED = "&lt;script&gt;"
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}


@dataclass
class ActiveContent(HTMLParser):
    """Collects every piece of markup that would run script."""

    found: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.found.append(f"<script> not from our static files: {values}")
        if tag in {"iframe", "object", "embed"}:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            cleaned = "".join((value or "").split()).lower()
            if name in URL_ATTRIBUTES and cleaned.startswith(("javascript:", "vbscript:", "data:")):
                self.found.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag


def active_content(html: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_checker_finds_what_it_must() -> None:
    assert active_content(f"<p>{HOSTILE}</p>")  # raw payloads are caught...
    assert not active_content("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>")  # ...escaped ones not
    assert active_content('<a href=" JaVaScRiPt:alert(1)">x</a>')
    assert not active_content('<script src="/static/js/app.js" defer></script>')


@dataclass
class Corpus:
    world: World
    ticket: Ticket
    values: dict[str, object]


@pytest.fixture
def corpus(world: World, settings: pytest.FixtureRequest, tmp_path: object) -> Corpus:
    settings.MEDIA_ROOT = str(tmp_path)
    now = T0
    world.org_a.name = f"Alpha {HOSTILE}"[:200]
    world.org_a.save()
    for user in (world.admin_a.user, world.agent, world.supervisor):
        user.full_name = f"Eve {HOSTILE}"[:150]
        user.save()
    ticket = world.file(title=HOSTILE[:200], description=HOSTILE, contact_24x7=HOSTILE[:200])
    agent, admin = Actor.for_user(world.agent), Actor.for_member(world.admin_a)
    services.ticket_assign(ticket=ticket, actor=agent, assignee=world.agent, now=now)
    services.ticket_agent_reply(ticket=ticket, actor=agent, body=HOSTILE, now=now)
    services.ticket_internal_note(ticket=ticket, actor=agent, body=HOSTILE, now=now)
    services.ticket_request_information(ticket=ticket, actor=agent, body=HOSTILE, now=now)
    services.ticket_customer_reply(ticket=ticket, actor=admin, body=HOSTILE, now=now)
    services.ticket_change_severity(
        ticket=ticket, actor=agent, severity="C", reason=HOSTILE, now=now + timedelta(minutes=1)
    )
    attachment = Attachment(
        organization=ticket.organization, ticket=ticket, original_name=f"{HOSTILE[:200]}.txt",
        content_type="text/plain", size=5,
    )  # fmt: skip
    attachment.file.save("trace.txt", ContentFile(b"trace"), save=True)
    resolved = world.file(title=f"Resolved {HOSTILE}"[:200])
    services.ticket_resolve(ticket=resolved, actor=agent, reason=HOSTILE, now=now)
    services.ticket_rate(ticket=resolved, actor=admin, score=2, comment=HOSTILE, now=now)

    service = Service.objects.first()
    article = Article(
        title=HOSTILE[:200], slug="hostile", body=MARKDOWN, language="en", is_published=True
    )
    article_save(article=article, author=world.supervisor, now=now)
    article.services.add(service)
    incident = Incident.objects.create(
        service=service, title=HOSTILE[:200], summary=HOSTILE, started_at=now
    )
    incident_post_update(
        incident=incident, author=world.supervisor, status="identified", body=HOSTILE, now=now
    )
    view = SavedView.objects.create(user=world.supervisor, name=HOSTILE[:60], query="severity=C")
    Macro.objects.create(name=HOSTILE[:100], language="en", body=HOSTILE)

    from tenants.api_keys import api_key_create
    from tenants.models import RegisteredEmail

    key = api_key_create(
        organization=world.org_a, name=HOSTILE[:100], role="global_admin",
        created_by=world.admin_a.user, now=now,
    ).credential  # fmt: skip
    contact = RegisteredEmail.objects.create(
        organization=world.org_a, email="it@alpha.test", label=HOSTILE[:100]
    )
    from tests.test_route_walk import _integration_ids

    values: dict[str, object] = {
        **_hostile_sla(world, now),
        "org": world.org_a.slug,
        "number": ticket.pk,
        "kind": "email",
        "contact": contact.pk,
        "attachment": attachment.pk,
        "member": world.user_a.pk,
        "incident": incident.pk,
        "article": article.slug,
        "view": view.pk,
        "report": "severity",
        **_integration_ids(ticket),
        "key": key.pk,
        "mail": _hostile_mail(world, ticket, now).pk,
        "export": _hostile_export(world),
    }
    return Corpus(world=world, ticket=ticket, values=values)


def _hostile_export(world: World) -> int:
    """The global admin's export, carrying a hostile error (its page shows the error)."""
    from tests.privacy.helpers import ready_export

    job = ready_export(requester=world.admin_a.user, organization=world.org_a, via="portal")
    type(job).objects.filter(pk=job.pk).update(error=HOSTILE)
    return job.pk


def _desk_values(corpus: Corpus) -> dict[str, object]:
    """The desk's privacy pages: the supervisor's own export (with a hostile error), and a
    customer to erase."""
    from privacy.models import ExportJob
    from tests.test_route_walk import _privacy_desk_ids

    ids = _privacy_desk_ids(corpus.world)
    ExportJob.objects.filter(pk=ids["export"]).update(error=HOSTILE)
    return {**corpus.values, **ids}


def _hostile_sla(world: World, now: datetime) -> dict[str, object]:
    """An SLA policy, its draft, a calendar holiday, a re-measure job and a failed review
    preview with hostile names, notes and errors, for the SLA policy editor's pages."""
    from severity.models import Calendar, CalendarHoliday
    from slapolicies import services as sla
    from slapolicies.models import PreviewStatus, ReviewPreview
    from tickets.models import RemeasureJob, RemeasureKind

    policy = sla.policy_create(
        name=HOSTILE[:100], description=HOSTILE, contract="", actor=world.supervisor, now=now
    )
    draft = sla.version_draft(policy=policy, actor=world.supervisor, now=now)
    type(draft).objects.filter(pk=draft.pk).update(note=HOSTILE[:2000])
    calendar = Calendar.objects.order_by("pk").first()
    assert calendar is not None
    CalendarHoliday.objects.create(calendar=calendar, date=now.date(), name=HOSTILE[:100])
    job = RemeasureJob.objects.create(
        kind=RemeasureKind.POLICY, version=draft, error=HOSTILE, created_at=now
    )
    preview = ReviewPreview.objects.create(
        version=draft, fingerprint=HOSTILE[:64], status=PreviewStatus.FAILED, error=HOSTILE
    )
    return {
        "policy": policy.pk,
        "version": draft.pk,
        "calendar": calendar.pk,
        "job": job.pk,
        "preview": preview.pk,
    }


def _hostile_mail(world: World, ticket: Ticket, now: datetime) -> Any:
    """A customer's answer by e-mail whose headers and text are hostile: the desk shows
    its original (mailin's desk page)."""
    from email.message import EmailMessage

    from mailin.models import IncomingMail
    from mailin.services import ingest
    from tickets.mail import reply_address

    sender = world.admin_a.user.email
    message = EmailMessage()
    message["From"] = sender
    message["To"] = reply_address(ticket.pk, sender)
    message["Subject"] = HOSTILE[:200].replace("\n", " ")
    message["Message-ID"] = "<hostile@alpha.example>"
    message.set_content(HOSTILE)
    ingest(message.as_bytes(), now=now, source="test")
    return IncomingMail.objects.get(ticket=ticket)


def _pages(client: Client, urls: list[str]) -> dict[str, str]:
    pages = {}
    for url in urls:
        response = client.get(url, follow=False)
        assert response.status_code in (200, 302, 405), (url, response.status_code)
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            pages[url] = response.content.decode()
    return pages


def test_portal_pages_show_hostile_text_inert(corpus: Corpus, client: Client) -> None:
    client.force_login(corpus.world.admin_a.user)
    urls = [_url(r, corpus.values) for r in routes() if classify(r) == TENANT]
    urls += [
        reverse("portal:help", kwargs={"org": "alpha"}) + "?q=" + HOSTILE,
        reverse("portal:help_suggest", kwargs={"org": "alpha"}) + "?q=" + HOSTILE,
        reverse("portal:request_list", kwargs={"org": "alpha"}) + "?status=all",
    ]
    pages = _pages(client, urls)
    problems = {url: found for url, html in pages.items() if (found := active_content(html))}
    assert problems == {}
    detail = reverse("portal:request_detail", kwargs={"org": "alpha", "number": corpus.ticket.pk})
    for url in (detail, reverse("portal:incidents", kwargs={"org": "alpha"})):
        assert ESCAPED in pages[url], f"{url} no longer shows the hostile text"


def test_desk_pages_show_hostile_text_inert(corpus: Corpus, client: Client) -> None:
    client.force_login(corpus.world.supervisor)
    values = _desk_values(corpus)
    urls = [_url(r, values) for r in routes() if classify(r) == DESK and "call" not in r.params]
    urls += [reverse("desk:home") + "?q=" + HOSTILE, reverse("desk:queue_rows") + "?q=" + HOSTILE]
    pages = _pages(client, urls)
    problems = {url: found for url, html in pages.items() if (found := active_content(html))}
    assert problems == {}
    ticket_page = reverse("desk:ticket", kwargs={"number": corpus.ticket.pk})
    assert ESCAPED in pages[ticket_page]
    assert ESCAPED in pages[reverse("desk:home")]


def test_article_markdown_is_sanitised(corpus: Corpus) -> None:
    article = Article.objects.get(slug="hostile")
    assert active_content(article.body_html) == []
    # The links and raw HTML survive only as escaped text (the parser found no markup).
    assert "&lt;script&gt;" in article.body_html
    assert "<h1>" in article.body_html or "<h2>" in article.body_html  # Markdown still renders


def test_emails_show_hostile_text_inert(corpus: Corpus) -> None:
    from tickets.notifications import notifications_for, prefetch
    from tickets.outbox import _email

    events = list(corpus.ticket.events.select_related("ticket", "organization"))
    rendered = 0
    prefetched = prefetch(events)
    for event in events:
        for notification in notifications_for(event, prefetched=prefetched):
            html = str(_email(notification, mail=None).alternatives[0][0])  # type: ignore[arg-type]
            assert active_content(html) == [], notification.template
            rendered += 1
    assert rendered >= 3
