"""Writes of the help centre: articles, incident updates, and the deflection record.

Keyword-only, typed, one transaction each; the caller passes ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from audit import services as audit
from audit.actions import Action
from core.refusals import Refused
from helpcenter.markdown import plain_text, render_markdown
from helpcenter.models import (
    Article,
    ArticleImpression,
    HelpSearch,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    SearchSource,
    Service,
    SupportLine,
)
from helpcenter.search import normalise_query

if TYPE_CHECKING:
    from tenants.models import Organization, User
    from tickets.models import Ticket

# Keystrokes of one question arrive as many suggestion requests; those within this
# window whose text extends (or trims) the previous one are the same search.
SEARCH_MERGE_WINDOW = timedelta(minutes=3)
# A request filed within this time after self-help counts as "self-help did not solve
# it" (POL-SELF-2: only if the articles do not help does the admin contact support).
DEFLECTION_WINDOW = timedelta(hours=24)


# --- Articles -----------------------------------------------------------------------------


def _render_and_save(*, article: Article, author: User | None, now: datetime) -> Article:
    article.body_html = render_markdown(article.body)
    article.excerpt = plain_text(article.body_html, limit=280)
    if article.author_id is None and author is not None:
        article.author = author
    if article._state.adding:
        article.created_at = now
    article.updated_at = now
    article.save()
    return article


def _record_publication(*, article: Article, actor: User | None, now: datetime) -> None:
    audit.record(
        action=Action.ARTICLE_PUBLISHED if article.is_published else Action.ARTICLE_UNPUBLISHED,
        actor=actor,
        target=article,
        target_label=article.title,
        before={"published": not article.is_published},
        after={"published": article.is_published},
        now=now,
    )


# What an article's audit rows name with their values. The body (up to 100,000 characters)
# is only named as changed: the trail says who edited what, not every version's text.
ARTICLE_FIELDS = ("title", "slug", "language", "services")
BODY_CHANGED = "changed"


def _service_slugs(services: Iterable[Service]) -> str:
    return ", ".join(sorted(service.slug for service in services))


def _article_values(article: Article, services: Iterable[Service]) -> dict[str, object]:
    return {
        **audit.values_of(article, ARTICLE_FIELDS[:-1]),
        "services": _service_slugs(services),
    }


@transaction.atomic
def article_save(
    *,
    article: Article,
    author: User | None,
    now: datetime,
    services: Iterable[Service] | None = None,
) -> Article:
    """Save an article with its sanitised HTML and excerpt rendered from the Markdown, and
    its services when given. One audit row for a new article (published or not), one for
    an edit of its title, slug, language, services or body (none when nothing of those
    changed); publishing or unpublishing an existing one here (the form's box) is audited
    as the actions are."""
    stored = (
        None
        if article._state.adding
        else Article.objects.select_for_update().filter(pk=article.pk).first()
    )
    stored_services = list(stored.services.all()) if stored is not None else []
    _render_and_save(article=article, author=author, now=now)
    if services is not None:
        article.services.set(list(services))
    current = _article_values(article, article.services.all())
    if stored is None:
        audit.record(
            action=Action.ARTICLE_CREATED,
            actor=author,
            target=article,
            target_label=article.title,
            after={**current, "published": article.is_published},
            now=now,
        )
        return article
    if stored.body != article.body:
        current["body"] = BODY_CHANGED
    audit.record_changes(
        action=Action.ARTICLE_CHANGED,
        actor=author,
        target=article,
        target_label=article.title,
        before=_article_values(stored, stored_services),
        after=current,
        now=now,
    )
    if stored.is_published != article.is_published:
        _record_publication(article=article, actor=author, now=now)
    return article


@transaction.atomic
def article_delete(*, article: Article, actor: User | None, now: datetime) -> None:
    """Delete an article; its audit row keeps its title, language and services."""
    audit.record(
        action=Action.ARTICLE_DELETED,
        actor=actor,
        target=article,
        target_label=article.title,
        before={
            **_article_values(article, article.services.all()),
            "published": article.is_published,
        },
        now=now,
    )
    article.delete()


@transaction.atomic
def article_publish(*, article: Article, now: datetime, actor: User | None = None) -> bool:
    """Show the article in self-help (POL-SELF-2); False when it already was. The body is
    rendered again, so an article is never published with stale or missing HTML."""
    locked = Article.objects.select_for_update().get(pk=article.pk)
    if locked.is_published:
        return False
    locked.is_published = True
    _render_and_save(article=locked, author=None, now=now)
    _record_publication(article=locked, actor=actor, now=now)
    article.is_published, article.updated_at = True, now
    return True


@transaction.atomic
def article_unpublish(*, article: Article, now: datetime, actor: User | None = None) -> bool:
    """Take the article out of self-help; False when it was not published."""
    changed = Article.objects.filter(pk=article.pk, is_published=True).update(
        is_published=False, updated_at=now
    )
    if changed:
        article.is_published, article.updated_at = False, now
        _record_publication(article=article, actor=actor, now=now)
    return bool(changed)


# --- Reference data: products and phone lines ---------------------------------------------

# What their audit rows name with their values: every field the admin edits.
PRODUCT_FIELDS = ("name", "slug", "is_active", "position")
SUPPORT_LINE_FIELDS = ("country", "kind", "number", "label", "hours", "position", "is_active")


def _support_line_label(line: SupportLine) -> str:
    # Not str(line): that is in the reader's language, the label is kept as written.
    return f"{line.country.code or '*'} {line.kind} {line.number}"


@transaction.atomic
def product_save(*, product: Service, actor: User | None, now: datetime) -> Service:
    """Create a product or save its changes, with an audit row naming what changed (a save
    that changes nothing writes none). The name is the label: the seeded names are
    translated only when shown."""
    return audit.save_recorded(
        product,
        fields=PRODUCT_FIELDS,
        created=Action.PRODUCT_CREATED,
        changed=Action.PRODUCT_CHANGED,
        actor=actor,
        now=now,
        label=product.name,
    )


@transaction.atomic
def product_delete(*, product: Service, actor: User | None, now: datetime) -> None:
    audit.delete_recorded(
        product,
        fields=PRODUCT_FIELDS,
        deleted=Action.PRODUCT_DELETED,
        actor=actor,
        now=now,
        label=product.name,
    )


@transaction.atomic
def support_line_save(*, line: SupportLine, actor: User | None, now: datetime) -> SupportLine:
    """Create a phone line or save its changes, with an audit row naming what changed
    (a save that changes nothing writes none)."""
    return audit.save_recorded(
        line,
        fields=SUPPORT_LINE_FIELDS,
        created=Action.SUPPORT_LINE_CREATED,
        changed=Action.SUPPORT_LINE_CHANGED,
        actor=actor,
        now=now,
        label=_support_line_label(line),
    )


@transaction.atomic
def support_line_delete(*, line: SupportLine, actor: User | None, now: datetime) -> None:
    audit.delete_recorded(
        line,
        fields=SUPPORT_LINE_FIELDS,
        deleted=Action.SUPPORT_LINE_DELETED,
        actor=actor,
        now=now,
        label=_support_line_label(line),
    )


# --- Service health (POL-SELF-1) ----------------------------------------------------------


class IncidentError(Refused):
    """A refused incident update."""


EMPTY_UPDATE = _("An update needs a text.")
UNKNOWN_STATUS = _("Unknown incident status.")

# What an edit of an incident may change; its status moves only by posting an update, so
# the public timeline always says why.
INCIDENT_DESCRIPTION_FIELDS = (
    "service",
    "impact",
    "started_at",
    "title",
    "title_pl",
    "summary",
    "summary_pl",
)


def _incident_values(incident: Incident, names: Sequence[str]) -> dict[str, str]:
    return {name: str(getattr(incident, name)) for name in names}


@transaction.atomic
def incident_save(*, incident: Incident, now: datetime, actor: User | None = None) -> Incident:
    """Create an incident, or save the description of one. A new incident may start in
    any status (one recorded after the fact may be resolved already, and is then resolved
    at ``now``, or when it started if that is later); later the status moves only by
    :func:`incident_post_update`."""
    incident.updated_at = now
    if incident._state.adding:
        if incident.status not in IncidentStatus.values:
            raise IncidentError(str(UNKNOWN_STATUS), field="status")
        incident.resolved_at = (
            max(now, incident.started_at) if incident.status == IncidentStatus.RESOLVED else None
        )
        incident.save()
        before: dict[str, str] = {}
        after = _incident_values(incident, (*INCIDENT_DESCRIPTION_FIELDS, "status"))
    else:
        stored = Incident.objects.get(pk=incident.pk)
        old = _incident_values(stored, INCIDENT_DESCRIPTION_FIELDS)
        new = _incident_values(incident, INCIDENT_DESCRIPTION_FIELDS)
        before = {name: value for name, value in old.items() if new[name] != value}
        after = {name: new[name] for name in before}
        incident.save(update_fields=[*INCIDENT_DESCRIPTION_FIELDS, "updated_at"])
    if after:
        audit.record(
            action=Action.INCIDENT_CHANGED,
            actor=actor,
            target=incident,
            target_label=incident.title,
            before=before,
            after=after,
            now=now,
        )
    return incident


@transaction.atomic
def incident_post_update(
    *,
    incident: Incident,
    author: User | None,
    status: str,
    body: str,
    body_pl: str = "",
    now: datetime,
) -> IncidentUpdate:
    """Add an entry to the incident's timeline and move the incident to its status.

    Resolving stamps ``resolved_at``; a later update that is not "resolved" reopens
    the incident (the problem came back), so it shows as current again.
    """
    if not body.strip():
        raise IncidentError(str(EMPTY_UPDATE))
    if status not in IncidentStatus.values:
        raise IncidentError(str(UNKNOWN_STATUS))
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    previous_status = incident.status
    update = IncidentUpdate.objects.create(
        incident=incident,
        body=body.strip(),
        body_pl=body_pl.strip(),
        status=status,
        posted_at=now,
        author=author,
    )
    incident.status = status
    incident.updated_at = now
    if status == IncidentStatus.RESOLVED:
        incident.resolved_at = max(now, incident.started_at)
    else:
        incident.resolved_at = None
    incident.save(update_fields=["status", "updated_at", "resolved_at"])
    audit.record(
        action=Action.INCIDENT_CHANGED,
        actor=author,
        target=incident,
        target_label=incident.title,
        before={"status": previous_status},
        after={"status": status, "update": update.body[:500]},
        now=now,
    )
    return update


# --- Deflection ---------------------------------------------------------------------------


def _same_question(previous: str, current: str) -> bool:
    a, b = previous.casefold(), current.casefold()
    return a.startswith(b) or b.startswith(a)


@transaction.atomic
def record_search(
    *,
    organization: Organization,
    user: User,
    query: str,
    language: str,
    articles: Sequence[Article],
    source: str = SearchSource.HELP,
    now: datetime,
) -> HelpSearch | None:
    """Remember a self-help search and the articles it showed.

    Returns None (and records nothing) for a query with no words in it.
    """
    query = normalise_query(query)
    if not query:
        return None
    previous = (
        HelpSearch.objects.select_for_update()
        .filter(
            organization=organization,
            user=user,
            searched_at__gte=now - SEARCH_MERGE_WINDOW,
            searched_at__lte=now,
        )
        .order_by("-searched_at", "-pk")
        .first()
    )
    if (
        previous is not None
        and previous.request_id is None
        and previous.language == language
        and _same_question(previous.query, query)
    ):
        search = previous
        search.query = query
        search.result_count = len(articles)
        search.searched_at = now
        search.save(update_fields=["query", "result_count", "searched_at"])
    else:
        search = HelpSearch.objects.create(
            organization=organization,
            user=user,
            query=query,
            language=language,
            source=source if source in SearchSource.values else SearchSource.HELP,
            result_count=len(articles),
            searched_at=now,
        )
    # An article shown again while the same question is typed is one impression.
    ArticleImpression.objects.bulk_create(
        [
            ArticleImpression(search=search, article=article, position=position, shown_at=now)
            for position, article in enumerate(articles, start=1)
        ],
        ignore_conflicts=True,
    )
    return search


def mark_article_opened(
    *, organization: Organization, user: User, search_id: int, article: Article, now: datetime
) -> bool:
    """Record that the user opened an article from a search's results.

    Only the user's own searches count; anything else is ignored (False).
    """
    return bool(
        ArticleImpression.objects.filter(
            search_id=search_id,
            search__organization=organization,
            search__user=user,
            article=article,
            opened_at__isnull=True,
        ).update(opened_at=now)
    )


@transaction.atomic
def mark_request_filed(
    *,
    organization: Organization,
    user: User,
    ticket: Ticket,
    now: datetime,
    window: timedelta = DEFLECTION_WINDOW,
) -> int:
    """Mark the user's self-help searches of the last ``window`` as followed by ``ticket``.

    Called by the request form after it created the ticket. Returns how many searches
    (with their impressions) were not enough to solve the problem.
    """
    return HelpSearch.objects.filter(
        organization=organization,
        user=user,
        request__isnull=True,
        searched_at__gte=now - window,
        searched_at__lte=now,
    ).update(request=ticket)
