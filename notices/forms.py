from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from notices.models import NoticePreference
from tenants.models import Membership, User


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = NoticePreference
        fields = (
            "email_new_urgent",
            "email_customer_replied",
            "email_reopened",
            "email_assigned",
            "email_warned",
            "email_escalated",
        )


class CcForm(forms.Form):
    """A colleague to keep informed: any member of the organization (POL-WHO-1)."""

    user = forms.ModelChoiceField(queryset=User.objects.none(), label=_("Colleague"))

    def __init__(self, *args: object, organization_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        members = Membership.objects.filter(organization_id=organization_id, user__is_active=True)
        field = self.fields["user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(pk__in=members.values("user_id")).order_by("email")
