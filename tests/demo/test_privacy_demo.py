"""Privacy on the demo data (issue 17): a supervisor exports an organization, its global
admin exports and erases a member through the portal, and the demo's figures stay."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db.models import Count
from django.test import Client, override_settings
from django.urls import reverse

from privacy import services
from privacy.models import ExportJob, ExportVia
from tenants.models import Membership, Organization, Role, User
from tests.demo.test_seed_demo import FAST_HASHERS, remove_demo_data, seed
from tests.privacy.test_services import _text_values
from tickets.models import Event, Ticket


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    from django.conf import settings

    quiet = dataclasses.replace(settings.SUPPORTDESK, DEADLINE_TASKS=False, OUTBOX_TASKS=False)
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHERS, SUPPORTDESK=quiet),
    ):
        seed()
    yield
    with django_db_blocker.unblock():
        remove_demo_data()


@pytest.fixture(autouse=True)
def _media(settings: object, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)  # type: ignore[attr-defined]


# One worker runs the demo modules one after another: two of them commit the demo data
# for the module's length, which another module's "created once" check must not meet.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo")]


def _contoso() -> Organization:
    return Organization.objects.get(slug="contoso")


def _member_to_erase(organization: Organization) -> Membership:
    """A member of this organization only, not its global admin, who filed requests."""
    return (
        Membership.objects.filter(organization=organization)
        .exclude(role=Role.GLOBAL_ADMIN)
        .annotate(
            filed=Count("user__created_tickets", distinct=True),
            elsewhere=Count("user__memberships", distinct=True),
        )
        .filter(elsewhere=1)
        .order_by("-filed", "pk")
        .select_related("user")
        .first()
    ) or pytest.fail("the demo has no member to erase")


def test_supervisor_exports_contoso(seeded: None) -> None:
    contoso = _contoso()
    supervisor = User.objects.get(email="supervisor@supportdesk.example")
    job = services.export_request(
        requester=supervisor, via=ExportVia.DESK, organization=contoso, now=contoso.created_at
    )
    job = services.export_run(job.pk)
    archive = zipfile.ZipFile(default_storage.open(job.file, "rb"))
    requests = [n for n in archive.namelist() if n.startswith("requests/")]
    assert len(requests) == Ticket.objects.for_org(contoso).count() > 0
    assert job.total == len(requests) + 1
    members = json.loads(archive.read("members.json"))
    assert {m["email"] for m in members} == set(
        Membership.objects.filter(organization=contoso).values_list("user__email", flat=True)
    )
    assert not any("fabrikam" in n for n in archive.namelist())


def test_contoso_admin_exports_and_erases_a_member_in_the_portal(
    seeded: None, client: Client
) -> None:
    contoso = _contoso()
    admin = (
        Membership.objects.filter(organization=contoso, role=Role.GLOBAL_ADMIN)
        .select_related("user")
        .first()
    )
    assert admin is not None
    member = _member_to_erase(contoso)
    email = member.user.email
    figures = list(
        Ticket.objects.for_org(contoso)
        .order_by("pk")
        .values_list("pk", "severity", "status", "response_due_at", "first_response_at")
    )
    events = Event.objects.filter(organization=contoso).count()
    client.force_login(admin.user)
    home = reverse("privacy_portal:home", kwargs={"org": contoso.slug})
    assert client.get(home).status_code == 200

    response = client.post(home, {"action": "export", "subject": str(member.pk)})
    assert response.status_code == 302
    job = ExportJob.objects.get(requested_by=admin.user)
    services.export_run(job.pk)
    download = reverse(
        "privacy_portal:export_download", kwargs={"org": contoso.slug, "export": job.pk}
    )
    first = client.get(download)
    assert first.status_code == 200
    content = b"".join(first.streaming_content)  # type: ignore[attr-defined]
    profile = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("profile.json"))
    assert profile["email"] == email
    assert client.get(download).status_code == 410

    erase = reverse("privacy_portal:erase", kwargs={"org": contoso.slug, "member": member.pk})
    assert client.get(erase).status_code == 200
    assert client.post(erase).status_code == 302
    assert _text_values(email) == []
    assert (
        list(
            Ticket.objects.for_org(contoso)
            .order_by("pk")
            .values_list("pk", "severity", "status", "response_due_at", "first_response_at")
        )
        == figures
    )
    assert Event.objects.filter(organization=contoso).count() == events
