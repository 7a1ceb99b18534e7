"""Forms of the desk's "Phone call" pages: they parse what the agent typed, nothing more.

Every rule (is the number valid, may this contact receive a code, is the code right,
may this request be filed) lives in ``verification.services`` and ``tickets.services``;
the views show their refusals on these forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from core.forms import form_field
from helpcenter.models import Service
from severity.choices import Category, Impact, Scope
from tenants.models import Organization
from tickets.models import ContactMethod, Language
from verification.models import ChannelKind
from verification.selectors import ChannelChoice

# Long enough for any code typed with spaces or dashes; the service judges the digits.
CODE_MAX_LENGTH = 32


def organizations_matching(query: str) -> QuerySet[Organization]:
    """Every organization (agents serve every tenant), narrowed by name or slug."""
    organizations = Organization.objects.order_by("name", "pk")
    query = query.strip()
    if query:
        organizations = organizations.filter(Q(name__icontains=query) | Q(slug__icontains=query))
    return organizations


class CallStartForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=_("Organization"),
        queryset=Organization.objects.none(),
        empty_label=_("Choose the caller's organization"),
    )
    caller_number = forms.CharField(
        label=_("Caller's number"),
        max_length=40,
        help_text=_(
            "As shown by your phone; a national number is read in the organization's country."
        ),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )

    def __init__(self, *args: Any, query: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = form_field(self, "organization", forms.ModelChoiceField)
        if self.is_bound:
            # A posted choice is checked against every organization, whatever the filter.
            field.queryset = Organization.objects.order_by("name", "pk")
            return
        matches = organizations_matching(query)
        field.queryset = matches
        if query.strip() and len(matches) == 1:
            self.initial["organization"] = matches[0].pk


def channel_value(kind: str, pk: int) -> str:
    return f"{kind}:{pk}"


class SendCodeForm(forms.Form):
    """Which registered contact gets the code. Cool-off and lock are the service's rules."""

    channel = forms.ChoiceField(
        label=_("Send the code to"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose where to send the code.")},
    )

    def __init__(self, *args: Any, channels: Sequence[ChannelChoice], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channels = channels
        field = form_field(self, "channel", forms.ChoiceField)
        field.choices = [(channel_value(c.kind, c.id), c.label) for c in channels]
        usable = [c for c in channels if c.usable]
        if len(usable) == 1 and not self.is_bound:
            self.initial["channel"] = channel_value(usable[0].kind, usable[0].id)

    def rows(self) -> list[dict[str, object]]:
        """The radio list as the template draws it: contacts in cool-off are shown
        disabled, with the date they start receiving codes (Django's RadioSelect cannot
        disable one option)."""
        chosen = self["channel"].value()
        return [
            {
                "choice": c,
                "value": channel_value(c.kind, c.id),
                "checked": chosen == channel_value(c.kind, c.id) and c.usable,
                "id": f"channel-{c.kind}-{c.id}",
            }
            for c in self.channels
        ]

    def cleaned_channel(self) -> tuple[str, int]:
        """(``ChannelKind`` value, contact id) of the chosen contact."""
        kind, _sep, pk = self.cleaned_data["channel"].partition(":")
        return ChannelKind(kind).value, int(pk)


class CheckCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code the caller reads out"),
        max_length=CODE_MAX_LENGTH,
        error_messages={"required": _("Type the code the caller reads out.")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "class": "code-input",
            }
        ),
    )


class PhoneIntakeForm(forms.Form):
    """A new request an agent files on the organization's behalf during a verified call."""

    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What the caller reports, in their words: what fails, since when, for whom."),
    )
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=_("Not about one product"),
    )
    impact = forms.ChoiceField(label=_("Impact"), choices=Impact.choices)
    scope = forms.ChoiceField(label=_("Who is affected"), choices=Scope.choices)
    business_impact = forms.CharField(
        label=_("Business impact statement"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed for severity A: what the outage costs the business."),
    )
    contact_24x7 = forms.CharField(
        label=_("24x7 contact"),
        max_length=200,
        required=False,
        help_text=_("Needed for severity A: who support can reach at any hour."),
    )
    contact_phone = PhoneNumberField(label=_("Contact phone"), required=False)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    preferred_contact = forms.ChoiceField(
        label=_("Preferred contact method"),
        choices=ContactMethod.choices,
        initial=ContactMethod.PHONE,
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)

    def __init__(self, *args: Any, region: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        product = form_field(self, "product", forms.ModelChoiceField)
        product.queryset = Service.objects.active()
        # The organization's country reads national numbers (POL-PHONE-1).
        self.fields["contact_phone"] = PhoneNumberField(
            label=_("Contact phone"), required=False, region=region or None
        )
