"""Input of the self-help pages: plain GET forms that also work without JavaScript."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from core.forms import form_field
from helpcenter.models import ArticleLanguage
from helpcenter.search import MAX_QUERY_LENGTH


class HelpSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Describe your problem or type keywords"),
        required=False,
        # Longer input is cut, not refused: the suggestion box must never show an error
        # while the admin types.
        strip=True,
    )
    language = forms.ChoiceField(
        label=_("Articles in"), choices=ArticleLanguage.choices, required=False
    )

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"].split())[:MAX_QUERY_LENGTH]


class CountryForm(forms.Form):
    country = forms.ChoiceField(label=_("Country or region"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country_choices = [("", _("Other country or region")), *countries]
        form_field(self, "country", forms.ChoiceField).choices = self.country_choices

    def country_name(self, code: str) -> str:
        """The label of a choice, as the selector shows it."""
        return str(dict(self.country_choices).get(code, ""))
