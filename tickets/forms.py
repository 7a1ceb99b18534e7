from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from severity.choices import Severity


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class SeverityChangeForm(forms.Form):
    """An agent's override (SLA engine): caps still apply in the service."""

    severity = forms.ChoiceField(label=_("New severity"), choices=Severity.choices)
    reason = forms.CharField(
        label=_("Why"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded on the request's timeline and shown to the customer."),
    )
