"""Contact support (issue 6, item 3): the request form, its live assessment and expected
wait, role rules, contact details, attachments, partner-first, and refusals."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from helpcenter.models import Service
from severity.choices import Category
from tenants.models import Partner, Role
from tests.conftest import World
from tests.factories import MembershipFactory
from tickets.attachments import ERR_CONTENT_MISMATCH
from tickets.models import Attachment, EventKind, Ticket
from tickets.services import ERR_PHONE_FOR_PHONE

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.MEDIA_ROOT = str(tmp_path)
    yield


def _url(name: str, org: str = "alpha", **kwargs: object) -> str:
    return reverse(f"portal:{name}", kwargs={"org": org, **kwargs})


def _exchange() -> Service:
    return Service.objects.get(slug="exchange-online")


def _answers(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "category": "technical",
        "product": _exchange().pk,
        "title": "Mail to external domains bounces",
        "description": "Since 09:00 every message to gmail.com bounces with 550.",
        "impact": "degraded",
        "scope": "many",
        "business_impact": "",
        "contact_24x7": "",
        "contact_phone": "+48 600 100 200",
        "contact_email": "it@alpha.test",
        "preferred_contact": "email",
        "language": "en",
    }
    values.update(overrides)
    return values


def test_the_form_is_prefilled_from_the_admins_profile(world: World, client: Client) -> None:
    user = world.admin_a.user
    user.phone = "+48600999888"
    user.save()
    client.force_login(user)
    response = client.get(_url("request_new"))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["contact_email"] == user.email
    assert str(form.initial["contact_phone"]) == "+48600999888"
    body = response.content.decode()
    assert 'name="contact_phone"' in body and "Contact me" in body
    assert "{#" not in body and "{%" not in body  # no template comment leaks onto the page
    # POL-REQ-4: the out-of-scope note is on the form.
    assert "Third-party services and add-ins are out of scope" in body


def test_registered_contacts_fill_in_a_missing_profile_phone(world: World, client: Client) -> None:
    from tenants.models import RegisteredPhone

    RegisteredPhone.objects.create(organization=world.org_a, number="+48600100123")
    RegisteredPhone.objects.create(organization=world.org_b, number="+48601200300")
    client.force_login(world.admin_a.user)
    form = client.get(_url("request_new")).context["form"]
    assert str(form.initial["contact_phone"]) == "+48600100123"


def test_filing_a_request_redirects_to_it_with_a_message(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    screenshot = SimpleUploadedFile("bounce.png", PNG, content_type="text/plain")
    response = client.post(_url("request_new"), {**_answers(), "attachments": [screenshot]})
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert response["Location"] == _url("request_detail", number=ticket.pk)
    assert (ticket.organization, ticket.severity, ticket.product) == (world.org_a, "B", _exchange())
    assert str(ticket.contact_phone) == "+48600100200"
    attachment = Attachment.objects.get()
    # The stored type comes from the content, not from what the browser claimed.
    assert (attachment.original_name, attachment.content_type) == ("bounce.png", "image/png")
    assert attachment.message is None and attachment.uploaded_by == world.admin_a.user
    created = ticket.events.get(kind=EventKind.CREATED)
    assert created.after["attachments"] == ["bounce.png"]
    page = client.get(response["Location"])
    assert f"Your request {ticket.reference} was filed with severity B" in page.content.decode()


def test_a_national_number_is_read_in_the_organizations_country(
    world: World, client: Client
) -> None:
    client.force_login(world.admin_a.user)  # Alpha is in Poland
    client.post(_url("request_new"), _answers(contact_phone="600 100 200"))
    assert str(Ticket.objects.get().contact_phone) == "+48600100200"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"contact_phone": "12"}, "contact_phone"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"contact_phone": "", "contact_email": ""}, "contact_email"),
        ({"contact_phone": "", "preferred_contact": "phone"}, "contact_phone"),
        ({"title": ""}, "title"),
        ({"impact": "apocalyptic"}, "impact"),
        ({"category": "technical", "product": ""}, "product"),
        ({"product": "999999999999999999999999"}, "product"),
        ({"language": "xx"}, "language"),
    ],
)
def test_bad_input_is_an_error_next_to_the_field_and_writes_nothing(
    world: World, client: Client, overrides: dict[str, object], field: str
) -> None:
    client.force_login(world.admin_a.user)
    response = client.post(_url("request_new"), _answers(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert Ticket.objects.count() == 0


def test_preferring_a_call_needs_a_phone(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    response = client.post(
        _url("request_new"), _answers(contact_phone="", preferred_contact="phone")
    )
    assert response.context["form"].errors["contact_phone"] == [str(ERR_PHONE_FOR_PHONE)]


def test_a_billing_admin_is_told_next_to_the_category(world: World, client: Client) -> None:
    """POL-WHO-2: a billing admin cannot file a technical request — a message, not a 403."""
    billing = MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)
    client.force_login(billing.user)
    page = client.get(_url("request_new"))
    assert page.status_code == 200
    response = client.post(_url("request_new"), _answers())
    assert response.status_code == 400
    error = response.context["form"].errors["category"][0]
    assert "Billing admin" in error and "Technical" in error
    assert Ticket.objects.count() == 0
    # The same admin files a billing question.
    response = client.post(
        _url("request_new"), _answers(category=Category.BILLING, product="", impact="minimal")
    )
    assert response.status_code == 302
    assert Ticket.objects.get().category == Category.BILLING


def test_standard_contract_answers_for_a_are_filed_as_b_with_the_reason(
    world: World, client: Client
) -> None:
    """POL-SEV-5: Bravo has the standard contract, so A-grade answers give B, and says why
    both before submitting (the live assessment) and on the request."""
    client.force_login(world.admin_b.user)
    answers = _answers(
        impact="service_down",
        scope="many",
        business_impact="No one can send mail; orders stop.",
        contact_24x7="Ola, +48 600 100 200",
        contact_email="it@bravo.test",
    )
    preview = client.post(_url("request_assess", org="bravo"), answers)
    assert preview.status_code == 200
    outcome = preview.context["preview"].assessment
    assert outcome.severity == "B"
    assert [r.code for r in outcome.reasons][:2] == ["matrix", "cap_contract"]
    assert "advanced support agreement" in preview.content.decode()
    assert preview.context["preview"].a_possible is False

    response = client.post(_url("request_new", org="bravo"), answers)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.severity == "B"
    assert "advanced support agreement" in ticket.severity_reason
    page = client.get(response["Location"]).content.decode()
    assert "advanced support agreement" in page


def test_severity_a_needs_the_business_impact_and_a_24x7_contact(
    world: World, client: Client
) -> None:
    """POL-SLA-2: with the advanced contract, A-grade answers give A only with both."""
    client.force_login(world.admin_a.user)
    bare = client.get(_url("request_assess"), _answers(impact="service_down")).context["preview"]
    assert bare.a_possible is True
    assert bare.assessment.severity == "B"
    codes = {r.code for r in bare.assessment.reasons}
    assert {"cap_business_impact", "cap_24x7_contact"} <= codes
    full = client.get(
        _url("request_assess"),
        _answers(impact="service_down", business_impact="Sales stop.", contact_24x7="Jan"),
    ).context["preview"]
    assert full.assessment.severity == "A"
    assert full.wait.respond_by_text.startswith("Support will respond by")


def test_the_live_assessment_shows_the_expected_wait(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    response = client.get(_url("request_assess"), _answers())
    body = response.content.decode()
    assert "Support will respond by" in body
    assert "waiting for a first response" in body
    # Without enough answers it says what is missing instead of failing.
    empty = client.get(_url("request_assess"), {"impact": "<script>"})
    assert empty.status_code == 200
    assert "answer the impact questions" in empty.content.decode()


def test_a_bad_attachment_is_refused_next_to_the_field(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    fake = SimpleUploadedFile(
        "invoice.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"
    )
    response = client.post(_url("request_new"), {**_answers(), "attachments": [fake]})
    assert response.status_code == 400
    errors = response.context["form"].errors["attachments"]
    assert errors == [str(ERR_CONTENT_MISMATCH % {"name": "invoice.pdf", "extension": "pdf"})]
    assert Ticket.objects.count() == 0
    assert Attachment.objects.count() == 0


def test_too_many_attachments_are_refused(world: World, client: Client, settings: Any) -> None:
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, ATTACHMENT_MAX_FILES=1)
    client.force_login(world.admin_a.user)
    files = [SimpleUploadedFile(f"s{i}.png", PNG) for i in range(2)]
    response = client.post(_url("request_new"), {**_answers(), "attachments": files})
    assert response.status_code == 400
    assert "at most 1 files" in response.context["form"].errors["attachments"][0]


def test_a_partners_customer_sees_the_partner_first(world: World, client: Client) -> None:
    """POL-WHO-4: the partner's contacts first, then "New service request"."""
    world.org_a.partner = Partner.objects.create(name="Contoso Partners", email="help@contoso.test")
    world.org_a.save()
    client.force_login(world.admin_a.user)
    first = client.get(_url("request_new"))
    assert "portal/request_partner.html" in [t.name for t in first.templates]
    body = first.content.decode()
    assert "Contoso Partners" in body and "help@contoso.test" in body
    assert "New service request" in body
    form = client.get(_url("request_new") + "?provider=1")
    assert "portal/request_new.html" in [t.name for t in form.templates]
    assert client.post(_url("request_new"), _answers()).status_code == 302


def test_a_known_incident_is_shown_before_going_on(world: World, client: Client) -> None:
    """POL-SELF-1: without JavaScript the re-rendered form lists the product's incidents."""
    from helpcenter.models import Incident

    Incident.objects.create(service=_exchange(), title="Outbound mail delayed in Europe")
    Incident.objects.create(
        service=Service.objects.get(slug="teams"), title="Teams meetings fail to start"
    )
    client.force_login(world.admin_a.user)
    response = client.post(_url("request_new"), _answers(title=""))
    body = response.content.decode()
    assert "Outbound mail delayed in Europe" in body
    assert "Teams meetings fail to start" not in body


def test_plain_users_are_sent_to_their_admin(world: World, client: Client) -> None:
    """POL-WHO-1: never a bare 403, and nothing is filed."""
    client.force_login(world.user_a.user)
    for response in (
        client.get(_url("request_new")),
        client.post(_url("request_new"), _answers()),
        client.get(_url("request_assess"), _answers()),
    ):
        assert response.status_code == 200
        assert "portal/ask_admin.html" in [t.name for t in response.templates]
    assert Ticket.objects.count() == 0


def test_another_organizations_form_is_not_found(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    assert client.get(_url("request_new", org="bravo")).status_code == 404
    assert client.post(_url("request_new", org="bravo"), _answers()).status_code == 404
    assert client.get(_url("request_assess", org="bravo")).status_code == 404
    assert Ticket.objects.count() == 0


def test_a_filed_request_follows_the_admins_recent_self_help_searches(
    world: World, client: Client
) -> None:
    """POL-SELF-2 / POL-WHO-3: the searches that did not help are counted as deflection
    misses once the admin files a request."""
    from django.utils import timezone

    from helpcenter.models import HelpSearch
    from helpcenter.services import record_search

    search = record_search(
        organization=world.org_a, user=world.admin_a.user, query="mail bounces 550",
        language="en", articles=[], now=timezone.now(),
    )  # fmt: skip
    assert search is not None
    client.force_login(world.admin_a.user)
    client.post(_url("request_new"), _answers())
    assert HelpSearch.objects.get(pk=search.pk).request == Ticket.objects.get()


def test_a_missing_sla_target_shows_no_wait_instead_of_failing(
    world: World, client: Client
) -> None:
    from severity.models import SlaTarget

    SlaTarget.objects.filter(severity="B", category="technical").delete()
    client.force_login(world.admin_a.user)
    response = client.get(_url("request_assess"), _answers())
    assert response.status_code == 200
    assert response.context["preview"].assessment.severity == "B"
    assert response.context["preview"].wait is None
