"""Privacy pages: who may use them, the one-time download, and another tenant's or another
requester's ids (404)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from privacy.models import ExportJob, ExportStatus, ExportVia
from tenants.models import Organization
from tests.conftest import World
from tests.factories import SupervisorFactory
from tests.privacy.helpers import EMAIL, customer_story, ready_export

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: object, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)  # type: ignore[attr-defined]


def _portal(name: str, world: World, org: Organization | None = None, **kwargs: object) -> str:
    return reverse(f"privacy_portal:{name}", kwargs={"org": (org or world.org_a).slug, **kwargs})


# --- Desk --------------------------------------------------------------------------------------


def test_desk_privacy_is_for_supervisors_only(world: World, client: Client) -> None:
    url = reverse("privacy:home")
    for who in (world.admin_a.user, world.agent):
        client.force_login(who)
        assert client.get(url).status_code == 404
    client.force_login(world.supervisor)
    assert client.get(url).status_code == 200


def test_supervisor_exports_an_organization_and_downloads_it_once(
    world: World, client: Client
) -> None:
    client.force_login(world.supervisor)
    response = client.post(
        reverse("privacy:home"), {"action": "export", "organization": world.org_a.pk}
    )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("privacy:export", kwargs={"export": job.pk})
    page = client.get(response["Location"])
    assert b'hx-get="' in page.content and b"<progress" in page.content
    from privacy.services import export_run

    export_run(job.pk)
    progress = client.get(reverse("privacy:export_progress", kwargs={"export": job.pk}))
    assert b"hx-get" not in progress.content  # finished: the polling stops
    assert b"export-download" in progress.content
    download = reverse("privacy:export_download", kwargs={"export": job.pk})
    first = client.get(download)
    assert first.status_code == 200 and first["Content-Type"] == "application/zip"
    assert b"".join(first.streaming_content)[:2] == b"PK"  # type: ignore[attr-defined]
    second = client.get(download)
    assert second.status_code == 410
    assert b"downloaded once" in second.content


def test_desk_export_form_errors_are_400(world: World, client: Client) -> None:
    client.force_login(world.supervisor)
    for data in (
        {"action": "export"},
        {"action": "export", "email": "nobody@nowhere.test"},
        {"action": "export", "organization": "999999"},
        {"action": "export", "organization": world.org_a.pk, "email": world.admin_a.user.email},
        {"action": "erase", "email": "not-an-address"},
    ):
        assert client.post(reverse("privacy:home"), data).status_code == 400, data
    assert not ExportJob.objects.exists()


def test_another_supervisors_export_is_404(world: World, client: Client) -> None:
    job = ready_export(requester=world.supervisor, organization=world.org_a, via=ExportVia.DESK)
    client.force_login(SupervisorFactory())
    for name in ("export", "export_progress", "export_download"):
        assert client.get(reverse(f"privacy:{name}", kwargs={"export": job.pk})).status_code == 404
    job.refresh_from_db()
    assert job.status == ExportStatus.READY


def test_supervisor_erases_a_person_after_a_confirmation(world: World, client: Client) -> None:
    story = customer_story(world)
    client.force_login(world.supervisor)
    found = client.post(reverse("privacy:home"), {"action": "erase", "email": EMAIL})
    url = reverse("privacy:erase", kwargs={"person": story.user.pk})
    assert found["Location"] == url
    confirm = client.get(url)
    assert confirm.status_code == 200 and b"cannot be undone" in confirm.content
    story.user.refresh_from_db()
    assert story.user.is_active  # nothing changed yet
    assert client.post(url).status_code == 302
    story.user.refresh_from_db()
    assert not story.user.is_active and story.user.email.endswith("@erased.invalid")
    assert client.get(reverse("privacy:erase", kwargs={"person": 999999})).status_code == 404


def test_staff_are_not_erased_from_the_desk(world: World, client: Client) -> None:
    client.force_login(world.supervisor)
    response = client.post(reverse("privacy:erase", kwargs={"person": world.agent.pk}))
    assert response.status_code == 403 and b"Django admin" in response.content
    world.agent.refresh_from_db()
    assert world.agent.is_active


# --- Portal ------------------------------------------------------------------------------------


def test_portal_privacy_is_for_global_admins(world: World, client: Client) -> None:
    client.force_login(world.user_a.user)
    response = client.get(_portal("home", world))
    assert "portal/ask_admin.html" in [t.name for t in response.templates]
    client.force_login(world.admin_a.user)
    assert client.get(_portal("home", world)).status_code == 200
    assert client.get(_portal("home", world, world.org_b)).status_code == 404


def test_global_admin_sets_the_retention_period(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    url = _portal("home", world)
    bad = client.post(url, {"action": "retention", "retention_days": "3"})
    assert bad.status_code == 400
    assert client.post(url, {"action": "retention", "retention_days": "90"}).status_code == 302
    world.org_a.refresh_from_db()
    assert world.org_a.retention_days == 90
    assert client.post(url, {"action": "retention", "retention_days": ""}).status_code == 302
    world.org_a.refresh_from_db()
    assert world.org_a.retention_days is None


def test_global_admin_exports_a_member_and_downloads_once(world: World, client: Client) -> None:
    story = customer_story(world)
    client.force_login(world.admin_a.user)
    response = client.post(
        _portal("home", world), {"action": "export", "subject": str(story.member.pk)}
    )
    job = ExportJob.objects.get()
    assert (job.person, job.organization) == (story.user, world.org_a)
    assert response["Location"] == _portal("export", world, export=job.pk)
    from privacy.services import export_run

    export_run(job.pk)
    url = _portal("export_download", world, export=job.pk)
    # Another admin of the same organization is not the requester.
    other = story.member
    other.role = "global_admin"
    other.save()
    client.force_login(other.user)
    assert client.get(url).status_code == 404
    client.force_login(world.admin_a.user)
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 410


def test_portal_export_of_another_tenants_member_is_refused(world: World, client: Client) -> None:
    client.force_login(world.admin_a.user)
    response = client.post(
        _portal("home", world), {"action": "export", "subject": str(world.admin_b.pk)}
    )
    assert response.status_code == 400
    assert not ExportJob.objects.exists()


def test_portal_ids_of_another_tenant_are_404(world: World, client: Client) -> None:
    job_b = ready_export(requester=world.admin_b.user, organization=world.org_b, via="portal")
    client.force_login(world.admin_a.user)
    for org in (world.org_a, world.org_b):
        for name in ("export", "export_progress", "export_download"):
            assert client.get(_portal(name, world, org, export=job_b.pk)).status_code == 404
        url = _portal("erase", world, org, member=world.admin_b.pk)
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    world.admin_b.user.refresh_from_db()
    assert world.admin_b.user.is_active
    job_b.refresh_from_db()
    assert job_b.status == ExportStatus.READY


def test_global_admin_erases_a_member(world: World, client: Client) -> None:
    story = customer_story(world)
    client.force_login(world.admin_a.user)
    url = _portal("erase", world, member=story.member.pk)
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    story.user.refresh_from_db()
    assert not story.user.is_active
    # Themselves: refused with the reason, nothing changed.
    own = _portal("erase", world, member=world.admin_a.pk)
    response = client.post(own)
    assert response.status_code == 403 and b"cannot erase yourself" in response.content
    world.admin_a.user.refresh_from_db()
    assert world.admin_a.user.is_active


def test_retention_set_in_the_django_admin_is_audited(world: World, client: Client) -> None:
    from audit.actions import Action
    from audit.models import AuditEntry
    from tenants.models import User
    from tests.admin_forms import admin_url, form_data

    root = User.objects.create_superuser("root@provider.test", "a-long-test-pw-1")
    client.force_login(root)
    change = admin_url(Organization, "change", world.org_a.pk)
    data = form_data(client.get(change))
    data["retention_days"] = "5"
    assert client.post(change, data).status_code == 200  # the field's bounds
    data["retention_days"] = "400"
    assert client.post(change, data).status_code == 302
    world.org_a.refresh_from_db()
    assert world.org_a.retention_days == 400
    row = AuditEntry.objects.get(action=Action.RETENTION_CHANGED)
    assert (row.actor, row.after, row.channel) == (root, {"retention_days": 400}, "admin")


def test_any_member_exports_their_own_data_and_nothing_wider(world: World, client: Client) -> None:
    plain = world.user_a
    client.force_login(plain.user)
    mine = _portal("mine", world)
    assert client.get(mine).status_code == 200
    response = client.post(mine)
    job = ExportJob.objects.get()
    assert (job.person, job.organization, job.requested_by) == (plain.user, world.org_a, plain.user)
    assert response["Location"] == _portal("export", world, export=job.pk)
    assert client.get(response["Location"]).status_code == 200
    from privacy.services import export_run

    export_run(job.pk)
    assert client.get(_portal("export_download", world, export=job.pk)).status_code == 200
    # An organization export they asked for as a global admin is no longer theirs once
    # they are a plain user again.
    wider = ready_export(requester=plain.user, organization=world.org_a, via="portal")
    assert client.get(_portal("export", world, export=wider.pk)).status_code == 404
    assert client.get(_portal("export_download", world, export=wider.pk)).status_code == 404
    assert client.get(_portal("mine", world, world.org_b)).status_code == 404
