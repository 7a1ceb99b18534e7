"""The SLA policy editor's forms: they parse what a supervisor typed into the services'
values; the services decide what is allowed (slapolicies.services)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from severity.choices import Category, Severity
from severity.models import WEEKDAYS, Calendar, SlaPolicy, SlaPolicyVersion
from slapolicies.selectors import hours
from slapolicies.services import Steps, TargetValues, WindowValues, target_field
from tenants.models import Contract, Organization

# Durations are entered as hours with up to two decimals: 8, 1.5, 0.25 (15 minutes).
HOURS_HELP = _("Working hours on the calendar, decimals allowed (1.5 = 1 h 30 min).")


class PolicyCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    contract = forms.ChoiceField(label=_("Applies to"), required=False, choices=())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per form, so the labels are in the language of the request.
        self.fields["contract"].choices = [  # type: ignore[attr-defined]
            ("", _("Organizations chosen one by one")),
            *(
                (value, _("Every organization on the %(contract)s contract") % {"contract": label})
                for value, label in Contract.choices
            ),
        ]


def _hours_field(label: str, *, required: bool = True) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        max_digits=8,
        decimal_places=2,
        widget=forms.NumberInput(
            attrs={"step": "0.01", "inputmode": "decimal", "class": "input-hours"}
        ),
    )


def _duration(value: Decimal | None) -> dt.timedelta | None:
    if value is None:
        return None
    return dt.timedelta(seconds=int((value * 3600).to_integral_value()))


TARGET_PARTS = ("calendar", "first_response", "update_cadence", "cooperation_window")


class DraftForm(forms.Form):
    """A draft version's terms: the escalation steps and, per severity and category, the
    calendar and the targets in hours."""

    note = forms.CharField(
        label=_("What changed"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown in the version history."),
    )
    warning_percent = forms.IntegerField(
        label=_("Warn at (% of the target)"),
        help_text=_("The assignee is warned when this share of the target has passed."),
    )
    second_escalation_factor = forms.DecimalField(
        label=_("Second escalation at (× the target)"),
        max_digits=4,
        decimal_places=2,
        help_text=_("Level 2, told to the duty manager: 2 means twice the target."),
    )
    notify_supervisors = forms.BooleanField(
        label=_("Level 1 also tells the supervisors"), required=False
    )
    duty_emails = forms.CharField(
        label=_("Level 2 tells"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("E-mail addresses of the duty manager(s), one per line."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        version: SlaPolicyVersion,
        calendars: QuerySet[Calendar] | list[Calendar],
    ) -> None:
        targets = {(t.severity, t.category): t for t in version.targets.all()}
        initial: dict[str, Any] = {
            "note": version.note,
            "warning_percent": int(version.warning_share * 100),
            "second_escalation_factor": version.second_escalation_factor.normalize(),
            "notify_supervisors": version.notify_supervisors,
            "duty_emails": "\n".join(version.duty_addresses),
        }
        super().__init__(data, initial=initial)
        calendar_ids = [c.pk for c in calendars]
        self.kinds = [
            (severity, str(severity_label), category, str(category_label))
            for severity, severity_label in Severity.choices
            for category, category_label in Category.choices
        ]
        for severity, _severity_label, category, category_label in self.kinds:
            kind = f"{severity} {category_label}"
            target = targets.get((severity, category))
            name = target_field(severity, category, "calendar")
            self.fields[name] = forms.ModelChoiceField(
                label=_("%(kind)s: calendar") % {"kind": kind},
                queryset=Calendar.objects.filter(pk__in=calendar_ids).order_by("name"),
                empty_label=None,
            )
            self.fields[target_field(severity, category, "first_response")] = _hours_field(
                _("%(kind)s: first response within (hours)") % {"kind": kind}
            )
            self.fields[target_field(severity, category, "update_cadence")] = _hours_field(
                _("%(kind)s: agent update at least every (hours, empty for none)") % {"kind": kind},
                required=False,
            )
            self.fields[target_field(severity, category, "cooperation_window")] = _hours_field(
                _("%(kind)s: customer cooperation window (hours)") % {"kind": kind}
            )
            if target is not None:
                self.initial[name] = target.calendar_id
                for part in TARGET_PARTS[1:]:
                    self.initial[target_field(severity, category, part)] = hours(
                        getattr(target, part)
                    )

    def target_rows(self) -> list[dict[str, Any]]:
        """The grid's rows for the template: the kind and its four bound fields."""
        return [
            {
                "severity": severity,
                "severity_label": severity_label,
                "category": category,
                "category_label": category_label,
                "fields": [self[target_field(severity, category, part)] for part in TARGET_PARTS],
            }
            for severity, severity_label, category, category_label in self.kinds
        ]

    def steps(self) -> Steps:
        data = self.cleaned_data
        return Steps(
            warning_share=Decimal(data["warning_percent"]) / 100,
            second_escalation_factor=data["second_escalation_factor"],
            notify_supervisors=data["notify_supervisors"],
            duty_emails=data["duty_emails"],
        )

    def targets(self) -> list[TargetValues]:
        data = self.cleaned_data
        values = []
        for severity, _label, category, _category_label in self.kinds:
            first = _duration(data[target_field(severity, category, "first_response")])
            cooperation = _duration(data[target_field(severity, category, "cooperation_window")])
            values.append(
                TargetValues(
                    severity=severity,
                    category=category,
                    calendar=data[target_field(severity, category, "calendar")],
                    first_response=first or dt.timedelta(0),
                    update_cadence=_duration(
                        data[target_field(severity, category, "update_cadence")]
                    ),
                    cooperation_window=cooperation or dt.timedelta(0),
                )
            )
        return values


class PublishForm(forms.Form):
    apply_to_open = forms.TypedChoiceField(
        choices=[("0", _("New requests only")), ("1", _("Also open requests"))],
        coerce=lambda value: value == "1",
    )


class AssignForm(forms.Form):
    """Which policy an organization has (empty: its contract's, else the default)."""

    organization = forms.ModelChoiceField(
        label=_("Organization"), queryset=Organization.objects.order_by("name")
    )
    policy = forms.ModelChoiceField(
        label=_("Policy"),
        queryset=SlaPolicy.objects.exclude(current_version=None).order_by("name"),
        required=False,
        empty_label=_("Its contract's policy (or the default)"),
    )
    apply_to_open = forms.TypedChoiceField(
        required=False,
        choices=[("0", _("New requests only")), ("1", _("Also open requests"))],
        coerce=lambda value: value == "1",
    )


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=())
    uses_organization_time_zone = forms.BooleanField(
        label=_("Read the hours in each organization's own time zone"), required=False
    )
    extra_day_template = forms.TypedChoiceField(
        label=_("Extra working days follow"), choices=WEEKDAYS, coerce=int
    )
    holiday_country = forms.CharField(
        label=_("Public holidays of (country code)"),
        max_length=2,
        required=False,
        help_text=_("CN, PL …: refreshed daily for this year and the next."),
    )
    holiday_subdivision = forms.CharField(label=_("Region"), max_length=10, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        self.fields["time_zone"].choices = [(z, z) for z in zones]  # type: ignore[attr-defined]


_TIME = {"placeholder": "09:00", "inputmode": "numeric", "autocomplete": "off", "size": "5"}


class WindowForm(forms.Form):
    """One weekly window; the page's blank rows (no weekday, no times) are left out."""

    weekday = forms.TypedChoiceField(
        label=_("Weekday"),
        choices=[("", "—"), *WEEKDAYS],
        coerce=int,
        empty_value=None,
        required=False,
    )
    # Plain text "09:00": a browser's time picker adds a focus stop that shows no focus.
    start = forms.TimeField(
        label=_("Opens"), required=False, widget=forms.TimeInput(format="%H:%M", attrs=_TIME)
    )
    end = forms.TimeField(
        label=_("Closes"),
        required=False,
        widget=forms.TimeInput(format="%H:%M", attrs=_TIME),
        help_text=_("Empty: 24:00."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        given = [data.get(name) is not None for name in ("weekday", "start", "end")]
        if any(given) and not data.get("DELETE"):
            if data.get("weekday") is None:
                self.add_error("weekday", _("Choose the weekday."))
            if data.get("start") is None:
                self.add_error("start", _("Enter when the window opens."))
        return data


class BaseWindowFormSet(forms.BaseFormSet):
    def refuse(self, message: str) -> None:
        """Show a refusal of the whole set of windows above the table."""
        self._non_form_errors = self.error_class([message], error_class="nonform")

    def windows(self) -> list[WindowValues]:
        return [
            WindowValues(
                form.cleaned_data["weekday"], form.cleaned_data["start"], form.cleaned_data["end"]
            )
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("weekday") is not None
            and form.cleaned_data.get("start") is not None
        ]


WindowFormSet = forms.formset_factory(
    WindowForm, formset=BaseWindowFormSet, extra=2, can_delete=True, max_num=50
)


class DayForm(forms.Form):
    date = forms.DateField(
        label=_("Date"),
        widget=forms.DateInput(
            format="%Y-%m-%d", attrs={"placeholder": "2026-12-24", "autocomplete": "off"}
        ),
        help_text=_("Year-month-day."),
    )
    name = forms.CharField(label=_("Name"), max_length=100, required=False)


class DayRemoveForm(forms.Form):
    day = forms.IntegerField(widget=forms.HiddenInput)


PUBLIC_COUNTRIES = (("CN", _("China")), ("PL", _("Poland")))


class PublicImportForm(forms.Form):
    country = forms.ChoiceField(label=_("Country"), choices=())
    subdivision = forms.CharField(label=_("Region (optional)"), max_length=10, required=False)
    years = forms.TypedMultipleChoiceField(
        label=_("Years"), choices=(), coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, year: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import holidays

        known = dict(PUBLIC_COUNTRIES)
        others = sorted(code for code in holidays.list_supported_countries() if code not in known)
        self.fields["country"].choices = [  # type: ignore[attr-defined]
            *PUBLIC_COUNTRIES,
            *((code, code) for code in others),
        ]
        self.fields["years"].choices = [  # type: ignore[attr-defined]
            (y, str(y)) for y in range(year - 1, year + 3)
        ]


class IcsImportForm(forms.Form):
    file = forms.FileField(
        label=_("iCalendar file (.ics, at most 1 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".ics,text/calendar"}),
    )
    working = forms.TypedChoiceField(
        label=_("The file's all-day events are"),
        choices=[("0", _("Holidays (closed)")), ("1", _("Extra working days"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        initial="0",
    )
