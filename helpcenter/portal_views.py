"""Self-help pages of the portal: service health, help articles, phone support.

Open to every member of the organization, admin or not (POL-SELF-3); all read-only
GET pages that work without JavaScript, with htmx fragments layered on top.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from helpcenter.forms import CountryForm, HelpSearchForm
from helpcenter.models import Article, ArticleLanguage, SearchSource
from helpcenter.selectors import (
    article_or_404,
    current_incidents,
    incident_or_404,
    parse_id,
    past_incidents,
    recent_articles,
    related_articles,
    search_articles,
    service_health,
    support_lines_for,
)
from helpcenter.services import mark_article_opened, record_search
from tenants.access import TenantRequest, tenant_view

PAST_INCIDENTS_SHOWN_FOR = timedelta(days=90)
SUGGESTIONS = 6
RESULTS = 20


# --- Service health (POL-SELF-1) ----------------------------------------------------------


@tenant_view(admin_only=False)
@require_GET
def incidents(request: TenantRequest) -> HttpResponse:
    since = timezone.now() - PAST_INCIDENTS_SHOWN_FOR
    past = Paginator(past_incidents(since=since), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/incidents.html",
        {
            "organization": request.organization,
            "health": service_health(),
            "current": list(current_incidents()),
            "past": past,
            "past_days": PAST_INCIDENTS_SHOWN_FOR.days,
        },
    )


@tenant_view(admin_only=False)
@require_GET
def incident_detail(request: TenantRequest, incident: int) -> HttpResponse:
    found = incident_or_404(incident)
    return render(
        request,
        "portal/incidents_detail.html",
        {
            "organization": request.organization,
            "incident": found,
            "updates": list(found.updates.all()),
        },
    )


@tenant_view(admin_only=False)
@require_GET
def incidents_for_service(request: TenantRequest) -> HttpResponse:
    """htmx fragment: the known incidents of one service, shown before the request form.

    ``?service=<id>`` (or ``?product=<id>``). An empty or unknown id is not an error: the
    form asks before a product is picked, and the answer is simply "nothing known".
    """
    # The request form's product picker may send its own field name.
    service_id = parse_id(request.GET.get("service") or request.GET.get("product"))
    found = list(current_incidents(service=service_id)) if service_id else []
    return render(
        request,
        "helpcenter/_service_incidents.html",
        {"organization": request.organization, "incidents": found},
    )


# --- Help articles (POL-SELF-2) -----------------------------------------------------------


def _ui_language() -> str:
    code = (translation.get_language() or "en")[:2]
    return code if code in ArticleLanguage.values else ArticleLanguage.ENGLISH


def _search_input(request: TenantRequest) -> tuple[HelpSearchForm, str, str]:
    """The form, the query and the article language of a help search."""
    data = request.GET.copy()
    title = data.get("title")
    if not data.get("q") and title:
        # The request form's suggestion box sends its title field as-is.
        data["q"] = title
    form = HelpSearchForm(data)
    form.is_valid()
    # A field that did not validate falls back alone: an odd language still searches.
    query = form.cleaned_data.get("q", "")
    return form, query, form.cleaned_data.get("language") or _ui_language()


def _search(
    request: TenantRequest, query: str, language: str, *, limit: int, source: str
) -> tuple[list[Article], int | None]:
    if not query:
        return [], None
    articles = search_articles(query, language=language, limit=limit)
    search = record_search(
        organization=request.organization,
        user=request.user,
        query=query,
        language=language,
        articles=articles,
        source=source,
        now=timezone.now(),
    )
    return articles, search.pk if search else None


@tenant_view(admin_only=False)
@require_GET
def help_home(request: TenantRequest) -> HttpResponse:
    form, query, language = _search_input(request)
    results, search_id = _search(request, query, language, limit=RESULTS, source=SearchSource.HELP)
    return render(
        request,
        "portal/help.html",
        {
            "organization": request.organization,
            "form": form,
            "query": query,
            "language": language,
            "results": results,
            "search_id": search_id,
            "recent": [] if query else list(recent_articles(language=language)),
            "current_incidents": list(current_incidents()[:3]),
        },
    )


@tenant_view(admin_only=False)
@require_GET
def help_suggest(request: TenantRequest) -> HttpResponse:
    """htmx fragment: articles matching what the admin has typed so far."""
    _, query, language = _search_input(request)
    from_request_form = request.GET.get("from") == "request"
    source = SearchSource.REQUEST_FORM if from_request_form else SearchSource.HELP
    results, search_id = _search(request, query, language, limit=SUGGESTIONS, source=source)
    return render(
        request,
        "helpcenter/_suggestions.html",
        {
            "organization": request.organization,
            "query": query,
            "language": language,
            "results": results,
            "search_id": search_id,
            # From the request form, articles open in a new tab so the draft is kept.
            "new_tab": from_request_form,
        },
    )


@tenant_view(admin_only=False)
@require_GET
def help_article(request: TenantRequest, article: str) -> HttpResponse:
    found = article_or_404(article)
    search_id = parse_id(request.GET.get("s"))
    if search_id is not None:
        mark_article_opened(
            organization=request.organization,
            user=request.user,
            search_id=search_id,
            article=found,
            now=timezone.now(),
        )
    return render(
        request,
        "portal/help_article.html",
        {
            "organization": request.organization,
            "article": found,
            "services": list(found.services.all()),
            "related": list(related_articles(found)),
        },
    )


# --- Phone support (POL-PHONE-1..3) -------------------------------------------------------


@tenant_view(admin_only=False)
@require_GET
def phone(request: TenantRequest) -> HttpResponse:
    own_country = request.organization.country.code or ""
    if "country" in request.GET:
        form = CountryForm(request.GET)
        country = form.cleaned_data["country"] if form.is_valid() else ""
    else:
        form = CountryForm(initial={"country": own_country})
        country = own_country
    lines = support_lines_for(country)
    # The country selector swaps only the lines (htmx); a history restore needs the page.
    htmx = request.htmx
    fragment = bool(htmx) and not htmx.history_restore_request
    response = render(
        request,
        "helpcenter/_phone_lines.html" if fragment else "portal/phone.html",
        {
            "organization": request.organization,
            "form": form,
            "country": country,
            "country_name": form.country_name(country),
            "phone": lines,
            "technical": [line for line in lines.lines if line.kind == "technical"],
            "billing": [line for line in lines.lines if line.kind == "billing"],
        },
    )
    patch_vary_headers(response, ("HX-Request",))
    return response
