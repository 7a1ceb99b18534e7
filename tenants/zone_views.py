"""The one "my time zone" form of the desk's settings and the portal's account page: the
zone named by place in the reader's language, blank for the default (the organization's
for a customer, the desk's for staff), saved through ``user_set_time_zone``."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from core.refusals import into_form
from tenants.forms import TimeZoneForm
from tenants.models import User
from tenants.services import user_set_time_zone

# The name of the form's field: a POST carrying it is this form's, on a page with others.
FIELD = "time_zone"


def time_zone_form(
    request: HttpRequest, *, user: User, blank_label: str
) -> tuple[TimeZoneForm, bool]:
    """The person's zone form, bound when this POST is its own; True once saved (the
    caller redirects). An unknown zone stays on the form as its error."""
    posted = request.POST if request.method == "POST" and FIELD in request.POST else None
    form = TimeZoneForm(posted, initial={FIELD: user.time_zone}, blank_label=blank_label)
    if posted is not None and form.is_valid():
        with into_form(form, field=FIELD):
            user_set_time_zone(user=user, time_zone=form.cleaned_data[FIELD])
            messages.success(request, _("Your time zone is saved."))
            return form, True
    return form, False
