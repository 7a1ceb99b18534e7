"""Django admin: every page renders, tickets stay view-only, calendar edits reach the cache."""

from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.forms import BaseForm
from django.urls import reverse

from core.admin import ReadOnlyAdminMixin, ServiceAdminMixin
from severity.models import Calendar, business_calendar
from tenants.models import StaffRole, User
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

OUR_APPS = {"tenants", "tickets", "severity", "helpcenter", "verification", "webhooks"}


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("root@provider.test", "a-long-test-password")


@pytest.fixture
def client_as_superuser(client, superuser):
    client.force_login(superuser)
    return client


def admin_url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_model_renders(client_as_superuser):
    call_command("seed_demo", stdout=StringIO())
    failures = []

    for model in admin.site._registry:
        urls = [admin_url(model, "changelist"), admin_url(model, "changelist") + "?q=x"]
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls.append(admin_url(model, "change", obj.pk))
        for url in urls:
            status = client_as_superuser.get(url).status_code
            if status != 200:
                failures.append(f"{url} → {status}")

    assert not failures
    assert len(admin.site._registry) >= 12


def test_our_model_admins_list_filter_and_search():
    ours = {
        model: model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in OUR_APPS
    }

    assert ours
    for model, model_admin in ours.items():
        assert model_admin.list_display != ("__str__",), model
        assert model_admin.list_filter, model
        assert model_admin.search_fields, model


def test_tickets_cannot_be_added_changed_or_deleted(client_as_superuser, world):
    ticket = world.file()

    assert client_as_superuser.get(admin_url(Ticket, "add")).status_code == 403
    page = client_as_superuser.get(admin_url(Ticket, "change", ticket.pk))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    posted = client_as_superuser.post(
        admin_url(Ticket, "change", ticket.pk), {"title": "Changed behind the services' back"}
    )
    assert posted.status_code == 403
    assert client_as_superuser.get(admin_url(Ticket, "delete", ticket.pk)).status_code == 403
    ticket.refresh_from_db()
    assert ticket.title == "Cannot send mail"


@pytest.mark.parametrize("term", ["SR-{pk:06d}", "sr-{pk:06d}", "{pk:06d}", " SR-{pk} "])
def test_ticket_search_finds_a_reference(client_as_superuser, world, term):
    wanted = world.file(title="Autodiscover fails")
    world.file(title="Something else")

    response = client_as_superuser.get(
        admin_url(Ticket, "changelist"), {"q": term.format(pk=wanted.pk)}
    )

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]


def test_ticket_search_by_bare_number_adds_that_ticket(client_as_superuser, world):
    world.file(title="Something else", contact_email="it@alpha.test")
    wanted = world.file(title="Autodiscover fails", contact_email="it@alpha.test")

    response = client_as_superuser.get(admin_url(Ticket, "changelist"), {"q": str(wanted.pk)})

    # A bare number also matches titles and e-mail addresses containing it.
    assert wanted in response.context["cl"].result_list


def test_ticket_search_by_title_still_works(client_as_superuser, world):
    wanted = world.file(title="Autodiscover fails")
    world.file(title="Something else")

    response = client_as_superuser.get(admin_url(Ticket, "changelist"), {"q": "autodiscover"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_user_added_with_email_and_password(client_as_superuser):
    response = client_as_superuser.post(
        admin_url(User, "add"),
        {
            "email": "New.Agent@Provider.test",
            "usable_password": "true",
            "password1": "a-long-test-password",
            "password2": "a-long-test-password",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.agent@provider.test")
    assert user.check_password("a-long-test-password")
    assert user.staff_role == StaffRole.NONE
    assert not user.is_staff


def test_supervisor_cannot_make_a_superuser(client, world):
    supervisor = world.supervisor
    call_command("seed_demo", stdout=StringIO())  # gives supervisors their admin group
    supervisor.groups.add(*User.objects.get(email="supervisor@supportdesk.example").groups.all())
    client.force_login(supervisor)

    page = client.get(admin_url(User, "change", world.agent.pk))

    assert page.status_code == 200
    form = page.context["adminform"].form
    assert "is_superuser" not in form.fields
    assert "staff_role" in form.fields
    assert client.get(admin_url(Calendar, "changelist")).status_code == 200
    assert client.get(admin_url(Ticket, "changelist")).status_code == 200
    assert client.get(admin_url(Ticket, "add")).status_code == 403


def _post_data(form: BaseForm) -> dict[str, object]:
    """What the browser would send back for an unchanged form."""
    data: dict[str, object] = {}
    for field in form:
        value = field.value()
        if value is None or value is False:
            continue
        data[field.html_name] = "on" if value is True else value
    return data


def test_calendar_inline_edit_reaches_the_calendar_cache(client_as_superuser):
    calendar = Calendar.objects.get(name="Billing")
    stale = business_calendar(calendar)
    url = admin_url(Calendar, "change", calendar.pk)
    page = client_as_superuser.get(url)
    data = _post_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_post_data(formset.management_form))
        for form in formset.forms:
            data.update(_post_data(form))
    # Only an inline changes: a holiday is added.
    data.update(
        {"holidays-TOTAL_FORMS": "1", "holidays-0-date": "2026-12-25", "holidays-0-name": "Xmas"}
    )

    response = client_as_superuser.post(url, data)

    assert response.status_code == 302
    calendar_after = Calendar.objects.get(pk=calendar.pk)
    assert calendar_after.updated_at > calendar.updated_at
    fresh = business_calendar(calendar_after)
    assert fresh is not stale
    assert date(2026, 12, 25) in fresh.holidays
    assert date(2026, 12, 25) not in stale.holidays


# --- Writes through the services, or none (issue 13, item 4) ---------------------------------

# Models a service validates, audits or notifies for: their admin writes only through it
# (ServiceAdminMixin) or not at all (ReadOnlyAdminMixin). Reference data (services, phone
# lines, partners, macros, organizations, users) and SLA policy stay plain admin forms.
WRITTEN_BY_SERVICES = {
    ("tenants", "membership"),
    ("tenants", "registeredphone"),
    ("tenants", "registeredemail"),
    ("tenants", "contactchange"),
    ("tenants", "membershipchange"),
    ("tenants", "apikey"),
    ("tenants", "agenttoken"),
    ("helpcenter", "incident"),
    ("helpcenter", "incidentupdate"),
    ("helpcenter", "article"),
    ("helpcenter", "helpsearch"),
    ("webhooks", "webhookendpoint"),
    ("webhooks", "webhookdelivery"),
    ("verification", "call"),
    ("verification", "pinchallenge"),
    ("verification", "organizationpinstate"),
    ("verification", "verificationevent"),
    ("tickets", "ticket"),
    ("tickets", "message"),
    ("tickets", "event"),
    ("tickets", "attachment"),
    ("tickets", "rating"),
    ("tickets", "workerheartbeat"),
    # Second factors: view and delete only, each removal audited (mfa.admin).
    ("otp_totp", "totpdevice"),
    ("otp_static", "staticdevice"),
    ("django_otp_webauthn", "webauthncredential"),
    ("tenants", "user"),
}


def test_admins_of_service_written_models_write_through_the_service_or_not_at_all():
    registered = {
        (model._meta.app_label, model._meta.model_name): model_admin
        for model, model_admin in admin.site._registry.items()
    }

    assert registered.keys() >= WRITTEN_BY_SERVICES
    bypassing = [
        key
        for key in sorted(WRITTEN_BY_SERVICES)
        if not isinstance(registered[key], ReadOnlyAdminMixin | ServiceAdminMixin)
    ]
    assert bypassing == []


def test_one_read_only_mixin():
    copies = [
        path
        for path in Path(settings.BASE_DIR).glob("*/admin.py")
        if path.parent.name != "core" and "class ReadOnly" in path.read_text()
    ]
    assert copies == []


def test_webhook_endpoints_are_switched_through_the_service(client_as_superuser, world):
    from webhooks.models import WebhookDelivery, WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        organization=world.org_a,
        url="https://hooks.alpha.test/in",
        event_types=["ticket.created"],
        description="CRM",
        secret="whsec_test",
    )
    changelist = admin_url(WebhookEndpoint, "changelist")

    edited = client_as_superuser.post(
        admin_url(WebhookEndpoint, "change", endpoint.pk), {"is_active": "", "description": "x"}
    )
    switched = client_as_superuser.post(
        changelist, {"action": "deactivate", "_selected_action": [endpoint.pk]}
    )

    assert edited.status_code == 403
    assert switched.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.is_active, endpoint.description) == (False, "CRM")
    assert LogEntry.objects.get(object_id=str(endpoint.pk)).change_message == "Deactivated."
    assert client_as_superuser.get(admin_url(WebhookDelivery, "add")).status_code == 403
