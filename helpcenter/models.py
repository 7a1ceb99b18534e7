"""Self-help content: services and their health, help articles, phone lines, and the
record of what self-help showed to whom (deflection)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from phonenumber_field.modelfields import PhoneNumberField


class ServiceQuerySet(models.QuerySet["Service"]):
    def active(self) -> ServiceQuerySet:
        return self.filter(is_active=True)


class Service(models.Model):
    """A product area a request or an incident is about (Exchange Online, Teams…)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    is_active = models.BooleanField(_("offered"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ("position", "name")

    def __str__(self) -> str:
        # The seeded names in the reader's language (core.names): forms show this.
        from core.names import product_name

        return product_name(self.name)


def _in_polish() -> bool:
    return (translation.get_language() or "").startswith("pl")


# --- Service health (POL-SELF-1) ----------------------------------------------------------


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "investigating", _("Investigating")
    IDENTIFIED = "identified", _("Identified")
    MONITORING = "monitoring", _("Monitoring")
    RESOLVED = "resolved", _("Resolved")


class IncidentImpact(models.TextChoices):
    # Ordered from least to most severe; ``IMPACT_RANK`` relies on it.
    ADVISORY = "advisory", _("Advisory")
    DEGRADED = "degraded", _("Degraded service")
    OUTAGE = "outage", _("Service outage")


IMPACT_RANK: dict[str, int] = {value: rank for rank, value in enumerate(IncidentImpact.values)}


class IncidentQuerySet(models.QuerySet["Incident"]):
    def current(self) -> IncidentQuerySet:
        return self.exclude(status=IncidentStatus.RESOLVED)

    def past(self) -> IncidentQuerySet:
        return self.filter(status=IncidentStatus.RESOLVED)

    def most_severe_first(self) -> IncidentQuerySet:
        rank = models.Case(
            *(models.When(impact=value, then=rank) for value, rank in IMPACT_RANK.items()),
            default=0,
            output_field=models.IntegerField(),
        )
        return self.alias(impact_rank=rank).order_by("-impact_rank", "-started_at", "-pk")


class Incident(models.Model):
    """A known problem with one service, told to every tenant before they file a request.

    Titles and summaries are written in English and, optionally, in Polish; the portal
    shows the Polish text to Polish readers when there is one.
    """

    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="incidents", verbose_name=_("service")
    )
    title = models.CharField(_("title (English)"), max_length=200)
    title_pl = models.CharField(_("title (Polish)"), max_length=200, blank=True)
    summary = models.TextField(_("summary (English)"), blank=True, max_length=5000)
    summary_pl = models.TextField(_("summary (Polish)"), blank=True, max_length=5000)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=IncidentStatus.choices,
        default=IncidentStatus.INVESTIGATING,
    )
    impact = models.CharField(
        _("impact"), max_length=16, choices=IncidentImpact.choices, default=IncidentImpact.DEGRADED
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    updated_at = models.DateTimeField(_("last update"), default=timezone.now)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ("-started_at", "-pk")
        indexes = [models.Index(fields=["status", "service"], name="incident_status_service")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True)
                | models.Q(resolved_at__gte=models.F("started_at")),
                name="incident_resolved_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        # Model.clean runs even when a field failed its own checks, so either may be unset.
        if (
            self.resolved_at is not None
            and self.started_at is not None
            and self.resolved_at < self.started_at
        ):
            raise ValidationError(
                {"started_at": _("An incident cannot start after it was resolved.")}
            )

    @property
    def is_current(self) -> bool:
        return self.status != IncidentStatus.RESOLVED

    @property
    def display_title(self) -> str:
        return self.title_pl if _in_polish() and self.title_pl else self.title

    @property
    def display_summary(self) -> str:
        return self.summary_pl if _in_polish() and self.summary_pl else self.summary

    @property
    def impact_rank(self) -> int:
        return IMPACT_RANK.get(self.impact, 0)


class IncidentUpdate(models.Model):
    """One entry of an incident's public timeline; posting it sets the incident's status."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="updates", verbose_name=_("incident")
    )
    body = models.TextField(_("update (English)"), max_length=5000)
    body_pl = models.TextField(_("update (Polish)"), blank=True, max_length=5000)
    status = models.CharField(_("status"), max_length=16, choices=IncidentStatus.choices)
    posted_at = models.DateTimeField(_("posted"), default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )

    class Meta:
        verbose_name = _("incident update")
        verbose_name_plural = _("incident updates")
        ordering = ("-posted_at", "-pk")

    def __str__(self) -> str:
        return f"{self.incident} – {self.get_status_display()}"

    @property
    def display_body(self) -> str:
        return self.body_pl if _in_polish() and self.body_pl else self.body


# --- Help articles (POL-SELF-2, POL-SELF-3) -----------------------------------------------


class ArticleLanguage(models.TextChoices):
    ENGLISH = "en", "English"
    POLISH = "pl", "Polski"


class ArticleQuerySet(models.QuerySet["Article"]):
    def published(self) -> ArticleQuerySet:
        return self.filter(is_published=True)


class Article(models.Model):
    """A help article written in Markdown. ``body_html`` is the sanitised rendering, made
    by ``helpcenter.services.article_save`` whenever the body changes. On PostgreSQL,
    per-language GIN expression indexes (migration 0004) serve the full-text search."""

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=120, unique=True)
    language = models.CharField(
        _("language"), max_length=2, choices=ArticleLanguage.choices, default="en"
    )
    body = models.TextField(_("body (Markdown)"), max_length=100_000)
    body_html = models.TextField(_("rendered body"), blank=True, editable=False)
    excerpt = models.CharField(_("excerpt"), max_length=300, blank=True, editable=False)
    services = models.ManyToManyField(
        Service, blank=True, related_name="articles", verbose_name=_("services")
    )
    is_published = models.BooleanField(_("published"), default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        verbose_name = _("help article")
        verbose_name_plural = _("help articles")
        ordering = ("title",)
        indexes = [models.Index(fields=["language", "is_published"], name="article_lang_pub")]

    def __str__(self) -> str:
        return self.title

    @property
    def rendered_body(self) -> SafeString:
        # Safe by construction: body_html only ever holds nh3-cleaned output of
        # helpcenter.markdown.render_markdown.
        return mark_safe(self.body_html)  # noqa: S308


# --- Deflection: what self-help showed, and whether a request followed ----------------


class SearchSource(models.TextChoices):
    HELP = "help", _("Help centre")
    REQUEST_FORM = "request_form", _("Request form")


class HelpSearch(models.Model):
    """One question typed into self-help. Keystrokes of the same question (each a
    suggestion request) are merged into one row by ``record_search``."""

    organization = models.ForeignKey(
        "tenants.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("organization"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    query = models.CharField(_("query"), max_length=200)
    language = models.CharField(_("language"), max_length=2, choices=ArticleLanguage.choices)
    source = models.CharField(
        _("where"), max_length=16, choices=SearchSource.choices, default=SearchSource.HELP
    )
    result_count = models.PositiveSmallIntegerField(_("results"), default=0)
    searched_at = models.DateTimeField(_("searched"), default=timezone.now)
    # The request the user filed after this search, if any (set by mark_request_filed).
    request = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("request filed afterwards"),
    )

    class Meta:
        verbose_name = _("help search")
        verbose_name_plural = _("help searches")
        ordering = ("-searched_at", "-pk")
        indexes = [
            models.Index(fields=["searched_at"], name="helpsearch_searched"),
            models.Index(
                fields=["organization", "user", "-searched_at"], name="helpsearch_org_user"
            ),
        ]

    def __str__(self) -> str:
        return self.query


class ArticleImpression(models.Model):
    """An article shown in the results of one search, and whether it was opened."""

    search = models.ForeignKey(
        HelpSearch, on_delete=models.CASCADE, related_name="impressions", verbose_name=_("search")
    )
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="impressions", verbose_name=_("article")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    shown_at = models.DateTimeField(_("shown"), default=timezone.now)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)

    class Meta:
        verbose_name = _("article impression")
        verbose_name_plural = _("article impressions")
        ordering = ("-shown_at", "position")
        constraints = [
            models.UniqueConstraint(fields=["search", "article"], name="impression_once_per_search")
        ]

    def __str__(self) -> str:
        return f"{self.article} ← {self.search}"

    @property
    def clicked(self) -> bool:
        return self.opened_at is not None


# --- Phone support (POL-PHONE-1..3) -------------------------------------------------------


class LineKind(models.TextChoices):
    TECHNICAL = "technical", _("Technical help")
    BILLING = "billing", _("Billing help")


class SupportLine(models.Model):
    """A support phone number for one country or region; lines without a country are the
    default for every country that has none of its own (POL-PHONE-1)."""

    # Any: a Country at run time; django-countries' stubs, read through the Django plugin,
    # would type it as str.
    country: Any = CountryField(
        verbose_name=_("country or region"),
        blank=True,
        help_text=_("Leave empty for the default line used by countries without their own."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=LineKind.choices)
    number = PhoneNumberField(_("phone number"))
    label = models.CharField(_("label"), max_length=100, blank=True)
    hours = models.CharField(
        _("hours"),
        max_length=200,
        blank=True,
        help_text=_("Leave empty to show the policy's hours for this kind of help."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("shown"), default=True)

    class Meta:
        verbose_name = _("support phone line")
        verbose_name_plural = _("support phone lines")
        ordering = ("country", "kind", "position", "pk")
        constraints = [
            models.UniqueConstraint(
                fields=["country", "kind", "number"], name="supportline_unique_number"
            )
        ]

    def __str__(self) -> str:
        where = self.country.name if self.country else _("Default")
        return f"{where} – {self.get_kind_display()}: {self.number}"
