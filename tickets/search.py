"""Search across every request (issue 16): reference, title, description, messages and
the organization's name, closed requests included.

PostgreSQL: one stored document per ticket (``TicketSearch``, kept current by the
triggers of migration 0016), a GIN index, ``websearch_to_tsquery`` in the ``sd_search``
configuration (``simple`` words, accents folded when ``unaccent`` is installed: English
and Polish alike, no stemming), ranked with ``ts_rank`` and the newer request first on a
tie. The ranking reads the newest ``CANDIDATES`` matches: a word that half the requests
contain would otherwise rank hundreds of thousands of documents for one page, and among
that many the newest are what an agent looks for (found as ``_newest_matches`` says).
SQLite (development and most tests): every word somewhere in the same fields
(``icontains``), those with every word in the title first, then the newest.

Staff search the internal notes too; customers (the portal and the API) only the public
words, and only their organization's requests.

Snippets come back as ``Segment`` runs (text, highlighted or not) that templates escape
like any other text: the database marks matches with control characters that cannot
reach it from the stored text (they are stripped first), never with HTML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Case, Q, QuerySet, Value, When

from tickets.models import Message, MessageKind, Ticket, parse_reference

CONFIG = "sd_search"
# What people type is read without the parts of hyphenated words (migration 0016).
QUERY_CONFIG = "sd_search_query"
# The most matches a search ranks (see the module's docstring).
CANDIDATES = 300
# Longer input is cut: no one types more, and the query's cost grows with its words.
MAX_QUERY = 200
# SQLite fallback: at most this many words, each an OR over the fields.
MAX_FALLBACK_WORDS = 6
SNIPPET_CHARS = 220

_START, _STOP = "\x01", "\x02"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MARKS = re.compile(f"([{_START}{_STOP}])")
# websearch syntax the fallback ignores: quotes, a leading minus, "or".
_FALLBACK_WORD = re.compile(r"[^\s\"]+")


@dataclass(frozen=True)
class Segment:
    text: str
    match: bool


@dataclass(frozen=True)
class Hit:
    """One result: the ticket, its title and the best passage with the matches marked."""

    ticket: Ticket
    title: tuple[Segment, ...]
    snippet: tuple[Segment, ...]
    # Where the passage comes from: "description", "reply", "note" or "" (nothing matched
    # in the text: a reference or the organization's name did).
    source: str


def clean(query: str | None) -> str:
    """The query as searched: control characters out, spaces collapsed, length capped."""
    return " ".join(_CONTROL.sub(" ", query or "").split())[:MAX_QUERY]


def _uses_documents() -> bool:
    return connection.vendor == "postgresql"


def ranked_ids(
    query: str,
    *,
    organization_id: int | None = None,
    staff: bool = False,
    limit: int = CANDIDATES,
) -> list[int]:
    """Ids of the matching requests, best first: a reference typed in full (SR-000123) or
    as its number leads, then the ranked matches. ``organization_id`` limits the search to
    one organization (customers always pass theirs); ``staff`` adds internal notes."""
    text = clean(query)
    if not text:
        return []
    found: list[int] = []
    number = parse_reference(text)
    if number is not None:
        exact = Ticket.objects.filter(pk=number)
        if organization_id is not None:
            exact = exact.filter(organization_id=organization_id)
        found.extend(exact.values_list("pk", flat=True))
    if _uses_documents():
        matches = _document_ids(text, organization_id=organization_id, staff=staff, limit=limit)
    else:
        matches = _fallback_ids(text, organization_id=organization_id, staff=staff, limit=limit)
    found.extend(pk for pk in matches if pk not in found)
    return found[:limit]


def ranked_within(
    tickets: QuerySet[Ticket], query: str, *, organization_id: int | None, staff: bool
) -> list[int]:
    """The ids of ``tickets`` (already filtered) that match, best first."""
    ids = ranked_ids(query, organization_id=organization_id, staff=staff)
    if not ids:
        return []
    kept = set(tickets.filter(pk__in=ids).values_list("pk", flat=True))
    return [pk for pk in ids if pk in kept]


def _document_ids(text: str, *, organization_id: int | None, staff: bool, limit: int) -> list[int]:
    # The index is on (public || internal); customers' searches add the public words as a
    # filter, a subset of the same matches. websearch_to_tsquery is immutable: written
    # out, it is folded into a constant the planner estimates from the words' statistics.
    where = ["(s.public || s.internal) @@ websearch_to_tsquery(%s, %s)"]
    params: list[str | int] = [QUERY_CONFIG, text]
    if organization_id is not None:
        where.append("s.organization_id = %s")
        params.append(organization_id)
    if not staff:
        where.append("s.public @@ websearch_to_tsquery(%s, %s)")
        params.extend([QUERY_CONFIG, text])
    condition = " AND ".join(where)
    words = "(s.public || s.internal)" if staff else "s.public"
    with connection.cursor() as cursor:
        newest = _newest_matches(cursor, condition, params, limit)
        if not newest:
            return []
        # Only fixed fragments are interpolated; the user's words are parameters.
        cursor.execute(
            f"""
            SELECT s.ticket_id FROM tickets_ticketsearch s WHERE s.ticket_id = ANY(%s)
            ORDER BY ts_rank({words}, websearch_to_tsquery(%s, %s)) DESC, s.ticket_id DESC
            """,  # noqa: S608
            [newest, QUERY_CONFIG, text],
        )
        return [pk for (pk,) in cursor.fetchall()]


# A document read on the way costs a detoast and a match: a backward walk of the newest
# pays that for every document it passes, a bitmap of the GIN index only for the matches
# it fetches. The planner prices both alike, so the walk is chosen here: when at least
# one document in DENSE matches (by the planner's estimate of the words), walking back
# finds ``limit`` matches within DENSE × limit documents; otherwise the index's matches
# are fetched within a window of the newest ids that holds about WINDOW × limit of them,
# and the window is dropped only if it held too few.
DENSE = 20
WINDOW = 3


def _newest_matches(cursor: Any, condition: str, params: list[str | int], limit: int) -> list[int]:
    cursor.execute(
        f"EXPLAIN (FORMAT JSON) SELECT 1 FROM tickets_ticketsearch s WHERE {condition}",  # noqa: S608
        params,
    )
    plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    estimate = max(1.0, float(plan[0]["Plan"]["Plan Rows"]))
    cursor.execute("SELECT coalesce(max(ticket_id), 0) FROM tickets_ticketsearch")
    (top,) = cursor.fetchone()
    if estimate * DENSE >= top:
        cursor.execute(
            f"""SELECT s.ticket_id FROM tickets_ticketsearch s WHERE {condition}
            ORDER BY s.ticket_id DESC LIMIT %s""",  # noqa: S608
            [*params, limit],
        )
        return [pk for (pk,) in cursor.fetchall()]
    window = int(WINDOW * limit * top / estimate)
    floors = [top - window, 0] if window < top else [0]
    found: list[int] = []
    for floor in floors:
        # "+ 0": the order is not read off the primary key, so the plan is the bitmap.
        cursor.execute(
            f"""SELECT s.ticket_id FROM tickets_ticketsearch s
            WHERE {condition} AND s.ticket_id > %s
            ORDER BY s.ticket_id + 0 DESC LIMIT %s""",  # noqa: S608
            [*params, floor, limit],
        )
        found = [pk for (pk,) in cursor.fetchall()]
        if len(found) >= limit:
            break
    return found


def _fallback_words(text: str) -> list[str]:
    words = [w.lstrip("-") for w in _FALLBACK_WORD.findall(text)]
    return [w for w in words if w and w.lower() != "or"][:MAX_FALLBACK_WORDS]


def _fallback_ids(text: str, *, organization_id: int | None, staff: bool, limit: int) -> list[int]:
    tickets = Ticket.objects.all()
    if organization_id is not None:
        tickets = tickets.filter(organization_id=organization_id)
    messages = Message.objects.all() if staff else Message.objects.public()
    words = _fallback_words(text)
    in_title = Q()
    for word in words:
        tickets = tickets.filter(
            Q(title__icontains=word)
            | Q(description__icontains=word)
            | Q(organization__name__icontains=word)
            | Q(pk__in=messages.filter(body__icontains=word).values("ticket_id"))
        )
        in_title &= Q(title__icontains=word)
    # The only ranking here: every word in the title first, then the newest.
    title_first = Case(When(in_title, then=Value(0)), default=Value(1))
    ordered = tickets.order_by(title_first, "-created_at", "-pk")
    return list(ordered.values_list("pk", flat=True)[:limit])


# --- Snippets -------------------------------------------------------------------------------


def segments(marked: str) -> tuple[Segment, ...]:
    """Text with matches between the start and stop marks → runs of plain and marked text."""
    runs: list[Segment] = []
    inside = False
    for part in _MARKS.split(marked):
        if part == _START:
            inside = True
        elif part == _STOP:
            inside = False
        elif part:
            runs.append(Segment(part, inside))
    return tuple(runs)


def hits(tickets: Sequence[Ticket], query: str, *, staff: bool) -> list[Hit]:
    """The page's results with their highlighted title and best passage: one query."""
    text = clean(query)
    if not tickets:
        return []
    if not text:
        return [
            Hit(t, (Segment(t.title, False),), (Segment(_head(t.description), False),), "")
            for t in tickets
        ]
    if _uses_documents():
        return _document_hits(tickets, text, staff=staff)
    return _fallback_hits(tickets, text, staff=staff)


_HEADLINE = (
    f"StartSel={_START}, StopSel={_STOP}, MaxWords=32, MinWords=14, MaxFragments=2, "
    'FragmentDelimiter=" … "'
)
_TITLE = f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true"


def _document_hits(tickets: Sequence[Ticket], text: str, *, staff: bool) -> list[Hit]:
    # The best field is the description or the message whose own words rank highest
    # (public replies only for customers); ts_headline marks it. Marks stripped from the
    # stored text first, so a body cannot forge a highlight.
    sql = """
        SELECT t.id,
            ts_headline(%(config)s, translate(t.title, %(marks)s, ''), query.q, %(title)s),
            best.kind,
            ts_headline(%(config)s, translate(coalesce(best.body, t.description), %(marks)s, ''),
                query.q, %(headline)s)
        FROM tickets_ticket t
        CROSS JOIN (SELECT websearch_to_tsquery(%(query_config)s, %(text)s) AS q) query
        LEFT JOIN LATERAL (
            SELECT source.body, source.kind FROM (
                SELECT t.description AS body, 'description' AS kind, 0 AS place, 0 AS id
                UNION ALL
                SELECT m.body, m.kind, 1, m.id FROM tickets_message m
                WHERE m.ticket_id = t.id AND (%(staff)s OR m.kind = %(reply)s)
            ) source
            WHERE to_tsvector(%(config)s, source.body) @@ query.q
            ORDER BY ts_rank(to_tsvector(%(config)s, source.body), query.q) DESC,
                source.place, source.id DESC
            LIMIT 1
        ) best ON true
        WHERE t.id = ANY(%(ids)s)
    """
    params: dict[str, Any] = {
        "config": CONFIG,
        "query_config": QUERY_CONFIG,
        "marks": _START + _STOP,
        "title": _TITLE,
        "headline": _HEADLINE,
        "text": text,
        "staff": staff,
        "reply": MessageKind.REPLY.value,
        "ids": [t.pk for t in tickets],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = {pk: (title, kind or "", snippet) for pk, title, kind, snippet in cursor.fetchall()}
    found: list[Hit] = []
    for ticket in tickets:
        title, kind, snippet = rows.get(ticket.pk, (ticket.title, "", _head(ticket.description)))
        found.append(Hit(ticket, segments(title), segments(snippet), kind))
    return found


def _fallback_hits(tickets: Sequence[Ticket], text: str, *, staff: bool) -> list[Hit]:
    words = _fallback_words(text)
    messages = Message.objects.filter(ticket_id__in=[t.pk for t in tickets])
    if not staff:
        messages = messages.public()
    any_word = Q()
    for word in words:
        any_word |= Q(body__icontains=word)
    bodies: dict[int, list[tuple[str, str]]] = {}
    if words:
        for ticket_id, kind, body in messages.filter(any_word).values_list(
            "ticket_id", "kind", "body"
        ):
            bodies.setdefault(ticket_id, []).append((kind, body))
    found: list[Hit] = []
    for ticket in tickets:
        sources = [("description", ticket.description), *bodies.get(ticket.pk, [])]
        kind, body = next(
            ((k, b) for k, b in sources if _first_match(b, words) is not None), ("", "")
        )
        snippet = _window(body, words) if kind else _head(ticket.description)
        found.append(Hit(ticket, segments(mark(ticket.title, words)), segments(snippet), kind))
    return found


def _pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    usable = sorted({w for w in words if w}, key=len, reverse=True)
    if not usable:
        return None
    return re.compile("|".join(re.escape(w) for w in usable), re.IGNORECASE)


def _first_match(text: str, words: Sequence[str]) -> int | None:
    pattern = _pattern(words)
    found = pattern.search(text) if pattern else None
    return found.start() if found else None


def mark(text: str, words: Sequence[str]) -> str:
    """``text`` with each occurrence of the words between the marks (case-insensitive)."""
    clean_text = text.replace(_START, "").replace(_STOP, "")
    pattern = _pattern(words)
    if pattern is None:
        return clean_text
    return pattern.sub(lambda m: f"{_START}{m.group(0)}{_STOP}", clean_text)


def _window(text: str, words: Sequence[str]) -> str:
    start = _first_match(text, words) or 0
    begin = max(0, start - SNIPPET_CHARS // 3)
    end = min(len(text), begin + SNIPPET_CHARS)
    excerpt = text[begin:end]
    prefix = "… " if begin else ""
    suffix = " …" if end < len(text) else ""
    return prefix + mark(excerpt, words) + suffix


def _head(text: str) -> str:
    body = text.replace(_START, "").replace(_STOP, "")
    return body if len(body) <= SNIPPET_CHARS else body[:SNIPPET_CHARS].rstrip() + " …"
