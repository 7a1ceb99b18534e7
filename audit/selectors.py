"""Reading the audit trail (issue 17): the viewer's filters and its CSV, for the desk's
page (every organization) and an organization's settings page (its own rows only).

The views that show them sit in higher apps (tickets for the desk, tenants for the
portal); they pass the scope in, and this module never widens it."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import cast

from django import forms
from django.core.paginator import Paginator
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from audit.actions import DESK_ONLY_ACTIONS, Action, Channel
from audit.models import AuditEntry, AuditQuerySet
from core import moments

PAGE_SIZE = 50
TEXT_MAX = 200


class AuditFilterForm(forms.Form):
    """The viewer's filters; every one optional. ``organizations`` (pairs of id and
    name) adds the organization filter, which only the desk offers; an organization's own
    viewer (``for_organization``) offers no action it never shows."""

    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("All actions")), *Action.choices]
    )
    who = forms.CharField(label=_("By"), required=False, max_length=TEXT_MAX)
    target = forms.CharField(label=_("Object"), required=False, max_length=TEXT_MAX)
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All channels")), *Channel.choices]
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self,
        data: QueryDict | None = None,
        *,
        organizations: Sequence[tuple[int, str]] | None = None,
        for_organization: bool = False,
    ) -> None:
        super().__init__(data)
        if for_organization:
            action = cast(forms.ChoiceField, self.fields["action"])
            action.choices = [
                ("", _("All actions")),
                *((code, label) for code, label in Action.choices if code not in DESK_ONLY_ACTIONS),
            ]
        if organizations is not None:
            self.fields["organization"] = forms.TypedChoiceField(
                label=_("Organization"),
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", _("All organizations")), *organizations],
            )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            self.add_error("end", _("The end date is before the start date."))
        return cleaned


def _day_start(day: date, zone: tzinfo) -> datetime | None:
    """The first instant of ``day`` in ``zone`` (in UTC); None for a day at the ends of
    the calendar that has no such instant in UTC (0001-01-01 east of Greenwich, the day
    after 9999-12-31): the filter then has no bound on that side."""
    try:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None


def _day_after(day: date) -> date | None:
    try:
        return day + timedelta(days=1)
    except OverflowError:
        return None


def filtered(rows: AuditQuerySet, form: AuditFilterForm, *, zone: tzinfo) -> AuditQuerySet:
    """``rows`` narrowed by a valid form's filters; dates are whole days in ``zone`` (the
    reader's), the end day included."""
    data = form.cleaned_data
    if data.get("action"):
        rows = rows.of_action(data["action"])
    if data.get("channel"):
        rows = rows.via(data["channel"])
    if data.get("who", "").strip():
        rows = rows.by_actor_named(data["who"].strip())
    if data.get("target", "").strip():
        rows = rows.about(data["target"].strip())
    if data.get("organization"):
        rows = rows.for_organization(data["organization"])
    since = _day_start(data["start"], zone) if data.get("start") else None
    if since is not None:
        rows = rows.since(since)
    after = _day_after(data["end"]) if data.get("end") else None
    until = _day_start(after, zone) if after is not None else None
    if until is not None:
        rows = rows.before(until)
    return rows.newest_first()


def trail(*, organization_id: int | None) -> AuditQuerySet:
    """Every row a reader may see: one organization's (without support's own business,
    ``DESK_ONLY_ACTIONS``), or (None) all of them."""
    rows = AuditEntry.objects.select_related("organization")
    if organization_id is not None:
        rows = rows.for_organization(organization_id).without_actions(DESK_ONLY_ACTIONS)
    return rows


# --- CSV ----------------------------------------------------------------------------------

CSV_HEADER = (
    _("Time"),
    _("Action"),
    _("Action code"),
    _("Channel"),
    _("By"),
    _("Organization"),
    _("Object type"),
    _("Object id"),
    _("Object"),
    _("Before"),
    _("After"),
    _("Address"),
    _("Request id"),
)

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _json_cell(values: dict[str, object]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True) if values else ""


def csv_row(entry: AuditEntry, zone: tzinfo) -> list[str]:
    return [
        csv_safe(cell)
        for cell in (
            timezone.localtime(entry.at, zone).isoformat(timespec="seconds"),
            entry.get_action_display(),
            entry.action,
            entry.get_channel_display(),
            entry.actor_label,
            entry.organization.name if entry.organization is not None else "",
            entry.target_type,
            entry.target_id,
            entry.target_label,
            _json_cell(entry.before),
            _json_cell(entry.after),
            entry.ip or "",
            entry.request_id,
        )
    ]


class _Echo:
    """A file-like object whose write returns the line: csv.writer writes into the stream."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[AuditEntry], *, zone: tzinfo, language: str) -> Iterator[str]:
    """The rows as CSV lines, streamed (a year of a busy tenant's trail is not built in
    memory). The zone and language are passed in: a streamed body is produced after the
    view has returned, when the request's own are no longer active."""
    writer = csv.writer(_Echo())
    with translation.override(language):
        yield writer.writerow([str(title) for title in CSV_HEADER])
        for entry in rows:
            yield writer.writerow(csv_row(entry, zone))


def csv_stream(rows: AuditQuerySet, *, zone: tzinfo, language: str) -> Iterator[str]:
    return csv_lines(rows.iterator(chunk_size=500), zone=zone, language=language)


# --- The viewer's page ---------------------------------------------------------------------


def viewer_context(
    request_get: QueryDict,
    *,
    organization_id: int | None,
    organizations: Sequence[tuple[int, str]] | None = None,
) -> tuple[dict[str, object], bool]:
    """The filters, one page of rows and the query string of a viewer page; and whether
    the filters were valid (the page answers 400 when not, showing no rows)."""
    form = AuditFilterForm(
        request_get or None,
        organizations=organizations,
        for_organization=organization_id is not None,
    )
    zone = timezone.get_current_timezone()
    valid = not form.is_bound or form.is_valid()
    rows = trail(organization_id=organization_id)
    if form.is_bound and valid:
        rows = filtered(rows, form, zone=zone)
    elif not valid:
        rows = rows.none()
    else:
        rows = rows.newest_first()
    page = Paginator(rows, PAGE_SIZE).get_page(request_get.get("page"))
    query = request_get.copy()
    query.pop("page", None)
    return {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "zone": moments.zone_words(zone),
    }, valid


def csv_rows(
    request_get: QueryDict,
    *,
    organization_id: int | None,
    organizations: Sequence[tuple[int, str]] | None = None,
) -> AuditQuerySet | None:
    """The rows a viewer's CSV holds for these filters; None when they are not valid."""
    form = AuditFilterForm(
        request_get or None,
        organizations=organizations,
        for_organization=organization_id is not None,
    )
    if form.is_bound and not form.is_valid():
        return None
    rows = trail(organization_id=organization_id)
    zone = timezone.get_current_timezone()
    return filtered(rows, form, zone=zone) if form.is_bound else rows.newest_first()
