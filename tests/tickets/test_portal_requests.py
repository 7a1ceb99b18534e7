"""My requests (issue 6, item 5): the list with filters and sorting, the request page
(public conversation, files, SLA state, customer timeline), replies with attachments,
resolve, reopen within the window, ratings, downloads scoped by tenant, and query pins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import World
from tickets import services
from tickets.actors import Actor
from tickets.models import Attachment, EventKind, Message, MessageKind, Rating, Status, Ticket

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.MEDIA_ROOT = str(tmp_path)
    yield


def _list(org: str = "alpha") -> str:
    return reverse("portal:request_list", kwargs={"org": org})


def _detail(ticket: Ticket, org: str = "alpha") -> str:
    return reverse("portal:request_detail", kwargs={"org": org, "number": ticket.pk})


def _refs(response: Any) -> list[str]:
    return [t.reference for t in response.context["page"].object_list]


def _now_filed(world: World, membership: Any = None, **overrides: Any) -> Ticket:
    """A request filed now (the portal reads the real clock)."""
    return world.file(membership, now=timezone.now(), **overrides)


# --- The list ------------------------------------------------------------------------------


def test_list_filters_by_status_severity_and_category(world: World, client: Client) -> None:
    technical = _now_filed(world, title="Tech B")
    minimal = _now_filed(world, title="Tech C", impact="minimal")
    billing = _now_filed(world, title="Bill", category="billing", impact="minimal")
    services.ticket_resolve(
        ticket=billing, actor=Actor.for_user(world.agent), reason="", now=timezone.now()
    )
    client.force_login(world.admin_a.user)
    assert set(_refs(client.get(_list()))) == {technical.reference, minimal.reference}
    assert _refs(client.get(_list(), {"status": "resolved"})) == [billing.reference]
    assert _refs(
        client.get(_list(), {"status": "all", "severity": "C", "category": "billing"})
    ) == [billing.reference]
    assert _refs(client.get(_list(), {"severity": "B"})) == [technical.reference]


def test_list_sorts_and_ignores_bad_values(world: World, client: Client) -> None:
    first = _now_filed(world, title="First", impact="minimal")
    second = _now_filed(world, title="Second")
    client.force_login(world.admin_a.user)
    assert _refs(client.get(_list(), {"sort": "created"})) == [first.reference, second.reference]
    assert _refs(client.get(_list())) == [second.reference, first.reference]
    assert _refs(client.get(_list(), {"sort": "severity"})) == [second.reference, first.reference]
    assert _refs(client.get(_list(), {"sort": "-severity"})) == [first.reference, second.reference]
    odd = client.get(
        _list(), {"sort": "password", "severity": "Z", "category": "\x00", "page": "x"}
    )
    assert odd.status_code == 200
    assert len(_refs(odd)) == 2


def test_pagination_keeps_the_filters(world: World, client: Client) -> None:
    for i in range(27):
        _now_filed(world, title=f"Request {i}", impact="minimal")
    client.force_login(world.admin_a.user)
    response = client.get(_list(), {"severity": "C", "sort": "created"})
    assert len(_refs(response)) == 25
    assert "severity=C&amp;sort=created&amp;page=2" in response.content.decode()
    second = client.get(_list(), {"severity": "C", "sort": "created", "page": 2})
    assert len(_refs(second)) == 2


def test_list_shows_only_the_organizations_requests(world: World, client: Client) -> None:
    mine = _now_filed(world)
    theirs = _now_filed(world, world.admin_b)
    client.force_login(world.admin_a.user)
    body = client.get(_list(), {"status": "all"}).content.decode()
    assert mine.reference in body and theirs.reference not in body
    assert client.get(_list("bravo")).status_code == 404


# --- The request page ----------------------------------------------------------------------


def test_the_page_shows_public_messages_only_and_the_customer_timeline(
    world: World, client: Client
) -> None:
    ticket = _now_filed(world)
    agent = Actor.for_user(world.agent)
    now = timezone.now()
    services.ticket_assign(ticket=ticket, actor=agent, assignee=world.agent, now=now)
    services.ticket_internal_note(ticket=ticket, actor=agent, body="Customer is VIP-ish", now=now)
    services.ticket_agent_reply(ticket=ticket, actor=agent, body="We are looking at it.", now=now)
    client.force_login(world.admin_a.user)
    response = client.get(_detail(ticket))
    body = response.content.decode()
    assert "We are looking at it." in body
    assert "VIP-ish" not in body
    kinds = [e.kind for e in response.context["timeline"]]
    assert kinds == [EventKind.CREATED, EventKind.REPLIED]
    assert 'data-event="noted"' not in body and 'data-event="assigned"' not in body


def test_the_sla_state_is_in_plain_words(world: World, client: Client) -> None:
    ticket = _now_filed(world)
    client.force_login(world.admin_a.user)
    response = client.get(_detail(ticket))
    assert response.context["sla"].kind == "responding"
    assert "Support will respond by" in response.content.decode()
    assert "Warsaw time" in response.content.decode()


def test_answering_an_information_request_stops_the_cooperation_clock(
    world: World, client: Client
) -> None:
    """POL-SEV-7: the reply ends the wait on the customer, through the same reply form."""
    ticket = _now_filed(world)
    services.ticket_request_information(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Send the headers.",
        now=timezone.now(),
    )  # fmt: skip
    client.force_login(world.admin_a.user)
    page = client.get(_detail(ticket))
    assert page.context["sla"].kind == "waiting_on_you"
    assert "or the severity may be lowered." in page.content.decode()
    assert "POL-" not in page.content.decode()
    trace = SimpleUploadedFile("headers.txt", b"Received: from mx1\nX-Spam: no\n")
    response = client.post(
        _detail(ticket), {"action": "reply", "body": "Headers attached.", "attachments": [trace]}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.customer_due_at is None
    assert ticket.events.filter(kind=EventKind.CUSTOMER_REPLIED).count() == 1
    message = ticket.messages.get(author_role="customer")
    attachment = Attachment.objects.get()
    assert (attachment.message, attachment.content_type) == (message, "text/plain; charset=utf-8")
    page = client.get(_detail(ticket)).content.decode()
    assert "headers.txt" in page


def test_a_reply_with_a_disguised_file_is_refused_and_writes_nothing(
    world: World, client: Client
) -> None:
    ticket = _now_filed(world)
    client.force_login(world.admin_a.user)
    fake = SimpleUploadedFile("notes.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 64)
    response = client.post(_detail(ticket), {"body": "See file", "attachments": [fake]})
    assert response.status_code == 200
    assert response.context["form"].errors["attachments"]
    assert ticket.messages.count() == 0 and Attachment.objects.count() == 0


def test_a_file_refused_by_the_service_leaves_no_message_and_no_file(
    world: World, tmp_path: Path
) -> None:
    """The service checks too (the API has no form): nothing is half written."""
    ticket = _now_filed(world)
    good = SimpleUploadedFile("a.pdf", PDF)
    bad = SimpleUploadedFile("b.exe", b"MZ" + b"\x00" * 30)
    with pytest.raises(services.TicketError) as refused:
        services.ticket_customer_reply(
            ticket=ticket, actor=Actor.for_member(world.admin_a), body="Two files",
            attachments=[good, bad], now=timezone.now(),
        )  # fmt: skip
    assert refused.value.field == "attachments"
    assert ticket.messages.count() == 0 and Attachment.objects.count() == 0
    assert not list(tmp_path.rglob("*.*")) and not [p for p in tmp_path.rglob("*") if p.is_file()]


# --- Downloads -----------------------------------------------------------------------------


def _attach(world: World, ticket: Ticket, name: str = "report.pdf") -> Attachment:
    services.ticket_customer_reply(
        ticket=ticket,
        actor=Actor.for_member(
            world.admin_a if ticket.organization == world.org_a else world.admin_b
        ),
        body="File",
        attachments=[SimpleUploadedFile(name, PDF, content_type="text/html")],
        now=timezone.now(),
    )
    return Attachment.objects.filter(ticket=ticket).latest("pk")


def _download(ticket: Ticket, attachment: Attachment, org: str = "alpha") -> str:
    return reverse(
        "portal:attachment_download",
        kwargs={"org": org, "number": ticket.pk, "attachment": attachment.pk},
    )


def test_a_download_is_an_attachment_with_nosniff(world: World, client: Client) -> None:
    ticket = _now_filed(world)
    attachment = _attach(world, ticket, 'evil"; name.pdf')
    client.force_login(world.admin_a.user)
    response = client.get(_download(ticket, attachment))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF
    assert client.post(_download(ticket, attachment)).status_code == 405


def test_another_tenants_file_is_not_found(world: World, client: Client) -> None:
    mine = _now_filed(world)
    theirs = _now_filed(world, world.admin_b)
    their_file = _attach(world, theirs)
    client.force_login(world.admin_a.user)
    assert client.get(_download(theirs, their_file, org="bravo")).status_code == 404
    # A's own slug and own request number, B's attachment id.
    assert client.get(_download(mine, their_file)).status_code == 404
    huge = _download(mine, their_file).replace(f"/{their_file.pk}/", "/" + "9" * 25 + "/")
    assert client.get(huge).status_code == 404


def test_a_file_on_an_internal_note_is_not_the_customers(world: World, client: Client) -> None:
    from django.core.files.base import ContentFile

    ticket = _now_filed(world)
    note = services.ticket_internal_note(
        ticket=ticket, actor=Actor.for_user(world.agent), body="Log", now=timezone.now()
    )
    hidden = Attachment(
        organization=world.org_a, ticket=ticket, message=note, original_name="internal.txt",
        content_type="text/plain", size=3,
    )  # fmt: skip
    hidden.file.save("internal.txt", ContentFile(b"log"), save=True)
    client.force_login(world.admin_a.user)
    assert client.get(_download(ticket, hidden)).status_code == 404
    assert "internal.txt" not in client.get(_detail(ticket)).content.decode()


# --- Resolve, reopen, rate -----------------------------------------------------------------


def test_the_admin_resolves_and_reopens_within_the_window(world: World, client: Client) -> None:
    ticket = _now_filed(world)
    client.force_login(world.admin_a.user)
    response = client.post(_detail(ticket), {"action": "resolve", "reason": "Worked after restart"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    page = client.get(_detail(ticket))
    assert page.context["sla"].kind == "resolved" and page.context["can_reopen"]
    assert "Reopen it until" in page.content.decode()
    response = client.post(_detail(ticket), {"action": "reopen", "reason": "It is back."})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.events.filter(kind=EventKind.REOPENED, reason="It is back.").exists()


def test_after_the_window_the_admin_is_told_to_file_a_new_request(
    world: World, client: Client, settings: Any
) -> None:
    window = timedelta(days=settings.SUPPORTDESK.REOPEN_WINDOW_DAYS)
    resolved_at = timezone.now() - window - timedelta(hours=1)
    ticket = world.file(now=resolved_at - timedelta(days=1))
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=resolved_at
    )
    client.force_login(world.admin_a.user)
    page = client.get(_detail(ticket))
    assert not page.context["can_reopen"]
    assert "file a new request" in page.content.decode()
    refused = client.post(_detail(ticket), {"action": "reopen", "reason": "Back again"})
    assert refused.status_code == 400
    assert "File a new request" in refused.context["reopen_form"].errors["reason"][0]
    reply = client.post(_detail(ticket), {"action": "reply", "body": "Still broken"})
    assert "File a new request" in reply.context["form"].errors["body"][0]
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.messages.count() == 0
    # Support may still reopen it.
    services.ticket_reopen(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=timezone.now()
    )


def test_rating_the_support_once_resolved(world: World, client: Client) -> None:
    """POL-ROLE-2: CSAT 1–5 with a comment, recorded as an Event, shown afterwards."""
    ticket = _now_filed(world)
    client.force_login(world.admin_a.user)
    early = client.post(_detail(ticket), {"action": "rate", "score": "5"})
    assert early.status_code == 400
    assert str(services.ERR_NOT_RATEABLE) in early.content.decode()
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=timezone.now()
    )
    bad = client.post(_detail(ticket), {"action": "rate", "score": "9"})
    assert bad.status_code == 400 and bad.context["rating_form"].errors["score"]
    response = client.post(
        _detail(ticket), {"action": "rate", "score": "4", "comment": "Quick and clear."}
    )
    assert response.status_code == 302
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment, rating.rated_by) == (
        4,
        "Quick and clear.",
        world.admin_a.user,
    )
    event = ticket.events.get(kind=EventKind.RATED)
    assert event.after == {"score": 4, "comment": True, "source": "portal"}
    page = client.get(_detail(ticket)).content.decode()
    assert "You rated the support 4 out of 5." in page and "Quick and clear." in page
    again = client.post(_detail(ticket), {"action": "rate", "score": "1"})
    assert again.status_code == 400
    assert Rating.objects.get(ticket=ticket).score == 4


def test_only_the_organizations_admins_rate(world: World) -> None:
    ticket = world.file()
    services.ticket_resolve(
        ticket=ticket, actor=Actor.for_user(world.agent), reason="", now=ticket.created_at
    )
    for actor in (
        Actor.for_user(world.agent),
        Actor.for_member(world.admin_b),
        Actor.for_member(world.user_a),
    ):
        with pytest.raises(services.TicketError):
            services.ticket_rate(
                ticket=ticket, actor=actor, score=5, comment="", now=ticket.created_at
            )
    for score in (0, 6, True, "5"):
        with pytest.raises(services.TicketError):
            services.ticket_rate(
                ticket=ticket, actor=Actor.for_member(world.admin_a), score=score,  # type: ignore[arg-type]
                comment="", now=ticket.created_at,
            )  # fmt: skip
    assert not Rating.objects.exists()


def test_another_tenants_request_page_is_not_found(world: World, client: Client) -> None:
    theirs = _now_filed(world, world.admin_b)
    client.force_login(world.admin_a.user)
    for url in (_detail(theirs, "bravo"), _detail(theirs)):
        assert client.get(url).status_code == 404
        assert client.post(url, {"action": "resolve"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.NEW


# --- Query pins ----------------------------------------------------------------------------


def test_the_list_costs_the_same_queries_for_many_rows(
    world: World, client: Client, django_assert_max_num_queries: Any
) -> None:
    for i in range(30):
        _now_filed(world, title=f"Request {i}", impact="minimal" if i % 2 else "degraded")
    client.force_login(world.admin_a.user)
    client.get(_list())  # warm the session and the calendar caches
    with django_assert_max_num_queries(9):
        response = client.get(
            _list(), {"status": "all", "sort": "severity", "category": "technical"}
        )
    assert len(_refs(response)) == 25


def _conversation(world: World, ticket: Ticket, rounds: int) -> None:
    agent, customer = Actor.for_user(world.agent), Actor.for_member(world.admin_a)
    for i in range(rounds):
        now = timezone.now()
        services.ticket_agent_reply(ticket=ticket, actor=agent, body=f"Answer {i}", now=now)
        services.ticket_internal_note(ticket=ticket, actor=agent, body=f"Note {i}", now=now)
        services.ticket_customer_reply(
            ticket=ticket, actor=customer, body=f"Reply {i}",
            attachments=[SimpleUploadedFile(f"r{i}.pdf", PDF)], now=now,
        )  # fmt: skip


def test_the_request_page_costs_the_same_queries_for_a_long_conversation(
    world: World, client: Client, django_assert_num_queries: Any
) -> None:
    short, long = _now_filed(world), _now_filed(world)
    _conversation(world, short, 1)
    _conversation(world, long, 8)
    client.force_login(world.admin_a.user)
    client.get(_detail(short))  # warm the caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(_detail(short))
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(_detail(long))
    assert len(response.context["conversation"]) == 16
    assert len(few.captured_queries) <= 14
    assert Message.objects.filter(ticket=long, kind=MessageKind.NOTE).count() == 8
