"""The privacy pages' forms: they parse; ``privacy.services`` and ``tenants.retention``
decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.models import Membership, Organization, User
from tenants.retention import RETENTION_MAX_DAYS, RETENTION_MIN_DAYS


class DeskExportForm(forms.Form):
    """A supervisor's export: an organization, or a person by their e-mail address."""

    organization = forms.ModelChoiceField(
        label=_("Organization"),
        queryset=Organization.objects.order_by("name"),
        required=False,
        empty_label=_("— none —"),
    )
    email = forms.EmailField(label=_("Or a person's e-mail address"), required=False)

    def clean_email(self) -> User | None:
        email = (self.cleaned_data.get("email") or "").strip().lower()
        if not email:
            return None
        person = User.objects.filter(email=email).first()
        if person is None:
            raise forms.ValidationError(_("Nobody signs in with this address."))
        return person

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("organization") is None) == (data.get("email") is None):
            raise forms.ValidationError(_("Choose an organization or give a person's address."))
        return data


class DeskEraseForm(forms.Form):
    email = forms.EmailField(label=_("The person's e-mail address"))

    def clean_email(self) -> User:
        email = self.cleaned_data["email"].strip().lower()
        person = User.objects.filter(email=email).first()
        if person is None:
            raise forms.ValidationError(_("Nobody signs in with this address."))
        return person


class PortalExportForm(forms.Form):
    """A global admin's export: the organization, or one of its members."""

    subject = forms.ChoiceField(label=_("What to export"))

    def __init__(self, *args: Any, members: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members = {str(m.pk): m for m in members}
        subject = self.fields["subject"]
        assert isinstance(subject, forms.ChoiceField)
        subject.choices = [
            ("organization", _("The whole organization")),
            *[(str(m.pk), m.user.email) for m in members],
        ]

    def subject_member(self) -> Membership | None:
        value = self.cleaned_data["subject"]
        return self.members.get(value)


class RetentionForm(forms.Form):
    retention_days = forms.IntegerField(
        label=_("Keep closed requests for (days)"),
        required=False,
        min_value=RETENTION_MIN_DAYS,
        max_value=RETENTION_MAX_DAYS,
        help_text=_(
            "Closed requests are deleted, with their messages and files, this many days "
            "after they closed. Leave empty to keep them for ever."
        ),
    )
