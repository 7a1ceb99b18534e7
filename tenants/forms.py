"""Portal forms for the registered contacts. Shape checks only: the rules (phone parsing
with the organization's country, duplicates, the password) live in ``tenants.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.services import LABEL_MAX_LENGTH, PHONE_INPUT_MAX_LENGTH
from tenants.zones import zone_choices


class PasswordConfirmMixin(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        help_text=_("Type your own password again to confirm the change."),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class _LabelMixin(forms.Form):
    label = forms.CharField(
        label=_("Label (optional)"),
        help_text=_("Whose contact this is, for example “IT on-call” or “Anna, CFO”."),
        max_length=LABEL_MAX_LENGTH,
        required=False,
    )


class PhoneContactForm(_LabelMixin, PasswordConfirmMixin):
    number = forms.CharField(
        label=_("Phone number"),
        help_text=_("With the country code, for example +48 600 100 200."),
        max_length=PHONE_INPUT_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )

    field_order = ("number", "label", "password")


class EmailContactForm(_LabelMixin, PasswordConfirmMixin):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    field_order = ("email", "label", "password")


class RemoveContactForm(PasswordConfirmMixin):
    pass


class TimeZoneForm(forms.Form):
    """The zone a person reads times in, named by place in their language (never by id).
    Blank: their organization's (a customer) or the desk's (staff)."""

    time_zone = forms.ChoiceField(label=_("My time zone"), required=False)

    def __init__(self, *args: Any, blank_label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", blank_label), *zone_choices()]
