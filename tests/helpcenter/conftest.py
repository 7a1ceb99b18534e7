"""Help-centre test data: articles in both languages and incidents, made through the
services as supervisors would make them in the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpcenter.models import Article, Incident, IncidentImpact, IncidentStatus, Service
from helpcenter.services import article_save, incident_post_update
from tests.conftest import T0


def make_article(
    slug: str,
    title: str,
    body: str,
    *,
    language: str = "en",
    published: bool = True,
    services: tuple[str, ...] = (),
) -> Article:
    article = article_save(
        article=Article(
            slug=slug, title=title, body=body, language=language, is_published=published
        ),
        author=None,
        now=T0,
    )
    if services:
        article.services.set(Service.objects.filter(slug__in=services))
    return article


def make_incident(
    title: str,
    *,
    service: str = "exchange-online",
    status: str = IncidentStatus.INVESTIGATING,
    impact: str = IncidentImpact.DEGRADED,
    started: timedelta = timedelta(hours=2),
    title_pl: str = "",
) -> Incident:
    incident = Incident.objects.create(
        service=Service.objects.get(slug=service),
        title=title,
        title_pl=title_pl,
        impact=impact,
        started_at=T0 - started,
    )
    incident_post_update(
        incident=incident, author=None, status=status, body=f"{title}: update.", now=T0
    )
    incident.refresh_from_db()
    return incident


@pytest.fixture
def articles(db: None) -> dict[str, Article]:
    return {
        "shared": make_article(
            "shared-mailbox",
            "Create a shared mailbox",
            "A shared mailbox lets a team send mail from one address such as info@.",
            services=("exchange-online",),
        ),
        "forwarding": make_article(
            "mail-forwarding",
            "Forward mail to another address",
            "Forwarding sends a copy of incoming messages to another mailbox.",
            services=("exchange-online",),
        ),
        "password": make_article(
            "password-never-expires",
            "Set a password that never expires",
            "Change the password expiration policy of the organization.",
            services=("identity",),
        ),
        "draft": make_article(
            "draft-article",
            "Shared mailbox draft (unpublished)",
            "Not ready: shared mailbox notes.",
            published=False,
        ),
        "polish": make_article(
            "skrzynka-udostepniona",
            "Udostępniona skrzynka pocztowa",
            "Skrzynka udostępniona pozwala zespołowi wysyłać pocztę z jednego adresu.",
            language="pl",
            services=("exchange-online",),
        ),
    }
