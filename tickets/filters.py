"""The one filter of an organization's requests: the portal's list and the API's list
read the same statuses, severities and categories the same way (django-filter)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeRangeField
from django_filters.rest_framework import DjangoFilterBackend

from severity.choices import Category, Severity
from tenants.models import Organization
from tickets import search
from tickets.models import Status, Ticket

# The annotation ``filter_search`` adds: the place in the ranking, 0 the best.
RANK = "search_rank"

# Besides each status: every status in which support still owes something, and all.
ACTIVE = "active"
ALL = "all"


class UtcDateTimeRangeField(IsoDateTimeRangeField):
    """ISO 8601 bounds, turned into UTC before they reach the database: Python accepts
    offsets up to ±23:59 that PostgreSQL refuses (found by the schema fuzzer)."""

    def compress(self, data_list: list[datetime | None] | None) -> slice | None:
        try:
            bounds = [
                value.astimezone(UTC) if value is not None else None for value in data_list or []
            ]
        except OverflowError as error:
            raise forms.ValidationError(_("The date is out of range.")) from error
        return super().compress(bounds)


class UtcDateTimeRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    field_class = UtcDateTimeRangeField


class RequestFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=[(ACTIVE, _("Active")), *Status.choices, (ALL, _("All"))],
        method="filter_status",
        help_text=_("“active” is new, open and waiting on the customer; “all” is every status."),
    )
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)
    category = django_filters.MultipleChoiceFilter(choices=Category.choices)
    product = django_filters.CharFilter(field_name="product__slug", max_length=60)
    created = UtcDateTimeRangeFilter(field_name="created_at")
    updated = UtcDateTimeRangeFilter(field_name="updated_at")
    q = django_filters.CharFilter(
        method="filter_search",
        max_length=search.MAX_QUERY,
        help_text=_(
            "Words of the reference, title, description, public replies or organization "
            "name (all must appear; “quotes” for a phrase, -word to leave one out). "
            "Results come best match first unless `ordering` is given."
        ),
    )

    class Meta:
        model = Ticket
        fields = ("status", "severity", "category", "product", "created", "updated", "q")

    def __init__(self, *args: Any, organization: Organization | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The organization whose requests are searched: the ranking reads its documents
        # only, so its best matches are not crowded out by other tenants' (the queryset
        # is scoped to it as well).
        self.organization = organization

    def filter_search(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        if not search.clean(value):
            return queryset
        ids = search.ranked_within(
            queryset,
            value,
            organization_id=self.organization.pk if self.organization else None,
            staff=False,
        )
        if not ids:
            return queryset.none()
        # The rank as a column: a list orders by it (``order_by(RANK)``) where it wants the
        # best match first.
        return queryset.filter(pk__in=ids).annotate(
            **{
                RANK: Case(
                    *[When(pk=pk, then=Value(place)) for place, pk in enumerate(ids)],
                    output_field=IntegerField(),
                )
            }
        )

    def filter_status(
        self, queryset: QuerySet[Ticket], name: str, value: list[str]
    ) -> QuerySet[Ticket]:
        if not value or ALL in value:
            return queryset
        statuses = set(value) - {ACTIVE}
        if ACTIVE in value:
            statuses.update(Status.active())
        return queryset.filter(status__in=sorted(statuses))


def is_ranked(queryset: QuerySet[Ticket]) -> bool:
    """Whether ``q`` filtered (and ranked) this queryset."""
    return RANK in queryset.query.annotations


class TenantFilterBackend(DjangoFilterBackend):
    """django-filter for an API view of one organization (``view.tenant``): the filter
    searches that organization's documents."""

    def get_filterset_kwargs(self, request: Any, queryset: Any, view: Any) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        if not getattr(view, "swagger_fake_view", False):
            kwargs["organization"] = view.tenant.organization
        return kwargs
