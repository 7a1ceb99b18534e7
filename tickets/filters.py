"""The one filter of an organization's requests: the portal's list and the API's list
read the same statuses, severities and categories the same way (django-filter)."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeRangeField

from severity.choices import Category, Severity
from tickets.models import Status, Ticket

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

    class Meta:
        model = Ticket
        fields = ("status", "severity", "category", "product", "created", "updated")

    def filter_status(
        self, queryset: QuerySet[Ticket], name: str, value: list[str]
    ) -> QuerySet[Ticket]:
        if not value or ALL in value:
            return queryset
        statuses = set(value) - {ACTIVE}
        if ACTIVE in value:
            statuses.update(Status.active())
        return queryset.filter(status__in=sorted(statuses))
