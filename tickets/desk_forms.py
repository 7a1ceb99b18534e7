"""Forms of the agent desk (issue 7): they parse and validate; services do the writes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.forms import form_field
from core.names import product_name
from helpcenter.models import Service
from severity.choices import Category, Severity
from tenants.models import Organization, User
from tickets.forms import AttachmentsField
from tickets.models import Status
from tickets.selectors import STATUS_ANY, QueueFilters

ACTIVE_STATUS_CHOICES = [(s.value, s.label) for s in Status if s.value in Status.active()]


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the query string. A value that does not parse is
    dropped (the filter is ignored) rather than failing the page."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    severity = forms.ChoiceField(
        label=_("Severity"), required=False, choices=[("", _("Any")), *Severity.choices]
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("Any")), *Category.choices]
    )
    product = forms.TypedChoiceField(label=_("Product"), required=False, coerce=int)
    organization = forms.TypedChoiceField(label=_("Organization"), required=False, coerce=int)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Any active")),
            *ACTIVE_STATUS_CHOICES,
            (STATUS_ANY, _("Any, closed included")),
        ],
    )
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    breached = forms.BooleanField(label=_("Breached"), required=False)
    at_risk = forms.BooleanField(label=_("At risk"), required=False)
    waiting = forms.BooleanField(label=_("Waiting on customer"), required=False)
    # The reports' drill-down: filed between two days (both included, in the reader's
    # zone, as the reports count them) and with the severity a request was filed with.
    filed_from = forms.DateField(label=_("Filed from"), required=False)
    filed_to = forms.DateField(label=_("Filed to"), required=False)
    original_severity = forms.ChoiceField(
        label=_("Severity when filed"),
        required=False,
        choices=[("", _("Any")), *Severity.choices],
    )
    breached_from = forms.DateField(label=_("Breached from"), required=False)
    breached_to = forms.DateField(label=_("Breached to"), required=False)
    downgraded_from = forms.DateField(label=_("Downgraded from"), required=False)
    downgraded_to = forms.DateField(label=_("Downgraded to"), required=False)

    # The parameters a saved view and the live refresh carry over.
    FILTER_FIELDS = (
        "q",
        "severity",
        "category",
        "product",
        "organization",
        "status",
        "assignee",
        "breached",
        "at_risk",
        "waiting",
        "filed_from",
        "filed_to",
        "original_severity",
        "breached_from",
        "breached_to",
        "downgraded_from",
        "downgraded_to",
    )
    # The reports' drill-down filters: not drawn in the form, carried by it unchanged.
    DRILL_DOWN_FIELDS = FILTER_FIELDS[-7:]

    def __init__(
        self,
        *args: Any,
        organizations: list[tuple[int, str]] | None = None,
        products: list[tuple[int, str]] | None = None,
        agents: list[tuple[int, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        """With the lists, the filters are checked against them and drawn as selects (the
        page). Without them (the live fragment, polled every few seconds by every agent)
        ids are only checked to be ids: the fragment's query string is the page's own,
        already checked, and an unknown id merely matches nothing."""
        super().__init__(*args, **kwargs)
        if organizations is None or products is None or agents is None:
            for name in ("organization", "product"):
                self.fields[name] = forms.IntegerField(
                    label=self.fields[name].label, required=False, min_value=1, max_value=2**62
                )
            self.fields["assignee"] = forms.RegexField(
                label=self.fields["assignee"].label,
                required=False,
                regex=r"^(me|none|[1-9][0-9]{0,17})$",
            )
            return
        form_field(self, "organization", forms.ChoiceField).choices = [("", _("Any"))] + [
            (str(pk), name) for pk, name in organizations
        ]
        form_field(self, "product", forms.ChoiceField).choices = [("", _("Any"))] + [
            (str(pk), name) for pk, name in products
        ]
        form_field(self, "assignee", forms.ChoiceField).choices = [
            ("", _("Anyone")),
            ("me", _("Mine")),
            ("none", _("Unassigned")),
        ] + [(str(pk), name) for pk, name in agents]

    def filters(self) -> QueueFilters:
        """The valid filters; invalid ones are left out."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return QueueFilters(
            severity=data.get("severity") or "",
            category=data.get("category") or "",
            product_id=data.get("product") or None,
            organization_id=data.get("organization") or None,
            status=data.get("status") or "",
            assignee=data.get("assignee") or "",
            breached=bool(data.get("breached")),
            at_risk=bool(data.get("at_risk")),
            waiting=bool(data.get("waiting")),
            q=(data.get("q") or "").strip(),
            filed_from=_day_start(data.get("filed_from")),
            filed_until=_day_after(data.get("filed_to")),
            original_severity=data.get("original_severity") or "",
            breached_from=_day_start(data.get("breached_from")),
            breached_until=_day_after(data.get("breached_to")),
            downgraded_from=_day_start(data.get("downgraded_from")),
            downgraded_until=_day_after(data.get("downgraded_to")),
        )

    def drill_down(self) -> list[tuple[str, str]]:
        """The reports' drill-down filters that are on, for hidden inputs of the form."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return [(name, str(data[name])) for name in self.DRILL_DOWN_FIELDS if data.get(name)]

    def query_string(self) -> str:
        """The valid filters as a canonical query string (saved views, live refresh)."""
        return urlencode(self._pairs())

    def _pairs(self) -> list[tuple[str, str]]:
        # Worked out once: the quick filters, cards and chips ask a few dozen times a page.
        cached: list[tuple[str, str]] | None = getattr(self, "_pairs_cache", None)
        if cached is not None:
            return cached
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        pairs: list[tuple[str, str]] = []
        for name in self.FILTER_FIELDS:
            value = data.get(name)
            if value in (None, "", False):
                continue
            pairs.append((name, "1" if value is True else str(value).strip()))
        self._pairs_cache = pairs
        return pairs

    def is_on(self, name: str, value: str) -> bool:
        """Whether filter ``name`` is set to ``value`` (a quick filter is "pressed")."""
        return (name, value) in self._pairs()

    def toggled(self, name: str, value: str) -> str:
        """The query string with filter ``name`` set to ``value``, or removed when it
        already is; the other filters stay. Quick filters and the severity cards link
        here, so they narrow the queue without opening the filter form."""
        pairs = [(n, v) for n, v in self._pairs() if n != name]
        if not self.is_on(name, value):
            pairs.append((name, value))
        order: dict[str, int] = {n: i for i, n in enumerate(self.FILTER_FIELDS)}
        ordered: list[tuple[str, str]] = sorted(pairs, key=lambda pair: order[pair[0]])
        return urlencode(ordered)

    def active_filters(self) -> list[tuple[str, str, str]]:
        """(label, shown value, query string without it) of each filter that is on: the
        chips shown while the full form stays folded."""
        chips: list[tuple[str, str, str]] = []
        for name, value in self._pairs():
            field = self.fields[name]
            shown = value
            if isinstance(field, forms.BooleanField):
                shown = ""
            elif isinstance(field, forms.ChoiceField):
                choices: list[tuple[object, object]] = list(getattr(field, "choices", []))
                shown = next((str(label) for key, label in choices if str(key) == value), value)
            chips.append((str(field.label), shown, self.toggled(name, value)))
        return chips

    @property
    def ignored(self) -> list[str]:
        """Labels of the filters that did not parse, to tell the agent."""
        self.is_valid()
        return [str(self.fields[name].label) for name in self.errors]


def _day_start(day: date | None) -> datetime | None:
    """Midnight starting ``day`` in the active zone (the reader's, as on the reports)."""
    if day is None:
        return None
    return datetime.combine(day, time(0), tzinfo=timezone.get_current_timezone())


def _day_after(day: date | None) -> datetime | None:
    """Midnight ending ``day``: a "to" day is included."""
    return _day_start(day + timedelta(days=1)) if day is not None else None


# The filter selects' lists, drawn on every queue page, change only when an organization,
# a product or a staff member does. They are cached per language; those writes drop the
# cached lists (tickets.receivers), and the lists also expire on their own, as a cache
# that lives in one process (locmem, without REDIS_URL) misses another process's drop.
FILTER_CHOICES_KEY = "desk:filter-choices:{language}"
FILTER_CHOICES_SECONDS = 60

FilterChoices = tuple[list[tuple[int, str]], list[tuple[int, str]], list[tuple[int, str]]]


def queue_filter_choices() -> FilterChoices:
    """Organizations, products and agents (id and name, sorted by name) for the filter
    and assignment selects: three small queries, independent of the number of tickets,
    when the cache does not hold them."""
    key = FILTER_CHOICES_KEY.format(language=get_language() or settings.LANGUAGE_CODE)
    cached: FilterChoices | None = cache.get(key)
    if cached is not None:
        return cached
    organizations = list(Organization.objects.order_by("name", "pk").values_list("pk", "name"))
    # The seeded product names in the reader's language, as everywhere else.
    products = [
        (pk, product_name(name))
        for pk, name in Service.objects.order_by("position", "name").values_list("pk", "name")
    ]
    agents = [
        (agent.pk, agent.get_full_name())
        for agent in User.objects.agents().order_by("full_name", "email").only("full_name", "email")
    ]
    cache.set(key, (organizations, products, agents), FILTER_CHOICES_SECONDS)
    return organizations, products, agents


def forget_filter_choices() -> None:
    """Drop the cached lists in every language: now, and again once the write that changed
    them is committed (a page that read before the commit may have cached the old lists)."""
    keys = [FILTER_CHOICES_KEY.format(language=code) for code, _name in settings.LANGUAGES]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of this view"), max_length=60)
    query = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        return name.strip()


class ReplyForm(forms.Form):
    """The workspace's one composer: a public answer, a question that waits on the
    customer, or an internal note (the button pressed says which). ``seen_event`` is the
    newest Event the page showed: a public answer overtaken by newer activity is held
    unless ``send_anyway`` (``tickets.collision``)."""

    ACTION_REPLY = "reply"
    ACTION_REQUEST_INFORMATION = "request_information"
    ACTION_NOTE = "note"
    MODE_PUBLIC = "public"
    MODE_NOTE = "note"

    mode = forms.ChoiceField(
        label=_("Write"),
        choices=[(MODE_PUBLIC, _("Public reply")), (MODE_NOTE, _("Internal note"))],
        widget=forms.RadioSelect,
        initial=MODE_PUBLIC,
        required=False,
    )
    body = forms.CharField(
        label=_("Reply to the customer"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("The customer sees a public reply; only support sees an internal note."),
    )
    # The pressed button's value; none (Enter, a script) is a public reply.
    action = forms.ChoiceField(
        choices=[
            (ACTION_REPLY, _("Send reply")),
            (ACTION_REQUEST_INFORMATION, _("Ask")),
            (ACTION_NOTE, _("Add internal note")),
        ],
        widget=forms.HiddenInput,
        initial=ACTION_REPLY,
        required=False,
    )
    seen_event = forms.IntegerField(
        required=False, min_value=0, max_value=2**62, widget=forms.HiddenInput
    )
    # "Send anyway" on a held reply: the button carries the action that was held.
    send_anyway = forms.ChoiceField(
        required=False,
        choices=[
            ("", "—"),
            (ACTION_REPLY, _("Send reply")),
            (ACTION_REQUEST_INFORMATION, _("Ask")),
        ],
        widget=forms.HiddenInput,
    )
    attachments = AttachmentsField()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("send_anyway"):
            data["action"] = data["send_anyway"]
        elif not data.get("action"):
            data["action"] = self.ACTION_REPLY
        return data

    @property
    def is_note(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return data.get("action") == self.ACTION_NOTE

    def seen_event_id(self) -> int | None:
        """The Event the reply was written against; None when the agent sends anyway."""
        data = self.cleaned_data
        if data.get("send_anyway"):
            return None
        seen: int | None = data.get("seen_event")
        return seen


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Internal note"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only support staff see internal notes."),
    )
    attachments = AttachmentsField()


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label=_("Why escalate"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded on the timeline and sent to whoever is told."),
    )


class ResolveForm(forms.Form):
    reason = forms.CharField(
        label=_("Resolution summary"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why reopen"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(forms.Form):
    """Claim (assign to me), release (empty), or, for supervisors, assign to anyone."""

    assignee = forms.TypedChoiceField(label=_("Assignee"), required=False, coerce=int)

    def __init__(self, *args: Any, agents: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agents = {agent.pk: agent for agent in agents}
        form_field(self, "assignee", forms.ChoiceField).choices = [("", _("Nobody"))] + [
            (str(agent.pk), agent.get_full_name()) for agent in agents
        ]

    def chosen_agent(self) -> User | None:
        pk = self.cleaned_data.get("assignee")
        return self.agents.get(pk) if pk else None


class BulkAssignForm(AssignForm):
    tickets = forms.CharField(required=False)

    MAX_TICKETS = 200

    def __init__(self, *args: Any, agents: list[User], **kwargs: Any) -> None:
        super().__init__(*args, agents=agents, **kwargs)
        self.fields["assignee"].label = _("Assign the selected requests to")

    def clean_tickets(self) -> list[int]:
        raw = self.data.getlist("tickets") if hasattr(self.data, "getlist") else []
        numbers: list[int] = []
        for value in raw:
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise forms.ValidationError(_("Unknown request.")) from None
            if not 0 < number < 2**62:
                raise forms.ValidationError(_("Unknown request."))
            if number not in numbers:
                numbers.append(number)
        if not numbers:
            raise forms.ValidationError(_("Select at least one request."))
        if len(numbers) > self.MAX_TICKETS:
            raise forms.ValidationError(
                _("Select at most %(max)d requests at once.") % {"max": self.MAX_TICKETS}
            )
        return numbers


class ReportPeriodForm(forms.Form):
    """The reports' period: whole days, at most a year, defaulting to the last 30 days."""

    MAX_DAYS = 366
    # The period's end is the day after ``end`` at midnight: keep both inside datetime's range.
    EARLIEST = date(1970, 1, 1)
    LATEST = date(9998, 12, 31)

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    granularity = forms.ChoiceField(
        label=_("Breaches and downgrades per"),
        choices=[("day", _("day")), ("week", _("week"))],
        initial="day",
    )

    @staticmethod
    def defaults(today: date) -> dict[str, object]:
        return {"start": today - timedelta(days=29), "end": today, "granularity": "day"}

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, date) and isinstance(end, date):
            if not (start >= self.EARLIEST and end <= self.LATEST):
                self.add_error("end", _("Choose dates between 1970 and 9998."))
            elif end < start:
                self.add_error("end", _("The end comes before the start."))
            elif (end - start).days >= self.MAX_DAYS:
                self.add_error("end", _("Choose a period of at most a year."))
        return data
