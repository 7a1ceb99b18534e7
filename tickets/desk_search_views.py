"""The desk's "All requests" page (issue 16): every organization's requests, closed ones
included, searched by reference, words of the title, description and conversation
(internal notes too) or the organization's name; the newest first without a search."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenants.access import AgentRequest, desk_view
from tickets import search
from tickets.models import Ticket

PAGE_SIZE = 25


@dataclass(frozen=True)
class ResultPage:
    hits: list[search.Hit]
    number: int
    has_previous: bool
    has_next: bool
    # Matches found, and whether the ranking stopped at search.CANDIDATES (then "more than 300").
    total: int | None
    capped: bool


def _number(raw: str | None) -> int:
    try:
        return min(max(int(raw or 1), 1), 10_000)
    except ValueError:
        return 1


def _searched(query: str, number: int) -> ResultPage:
    ids = search.ranked_ids(query, staff=True)
    page = Paginator(ids, PAGE_SIZE).get_page(number)
    wanted = list(page.object_list)
    rows = Ticket.objects.filter(pk__in=wanted).select_related("organization").order_by()
    found = {t.pk: t for t in rows} if wanted else {}
    tickets = [found[pk] for pk in wanted if pk in found]
    return ResultPage(
        hits=search.hits(tickets, query, staff=True),
        number=page.number,
        has_previous=page.has_previous(),
        has_next=page.has_next(),
        total=len(ids),
        capped=len(ids) >= search.CANDIDATES,
    )


def _newest(number: int) -> ResultPage:
    # No count: a million rows are not counted for a list read from its newest end.
    start = (number - 1) * PAGE_SIZE
    tickets = list(
        Ticket.objects.select_related("organization").order_by("-pk")[start : start + PAGE_SIZE + 1]
    )
    return ResultPage(
        hits=search.hits(tickets[:PAGE_SIZE], "", staff=True),
        number=number,
        has_previous=number > 1,
        has_next=len(tickets) > PAGE_SIZE,
        total=None,
        capped=False,
    )


@desk_view
@require_GET
def all_requests(request: AgentRequest) -> HttpResponse:
    query = search.clean(request.GET.get("q"))
    number = _number(request.GET.get("page"))
    results = _searched(query, number) if query else _newest(number)
    return render(
        request,
        "desk/requests.html",
        {
            "q": query,
            "results": results,
            "query": urlencode({"q": query}) if query else "",
            "max_query": search.MAX_QUERY,
        },
    )
