"""Supervisors manage incidents, articles and phone lines in the Django admin."""

from __future__ import annotations

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from helpcenter.models import Article, HelpSearch, Incident, IncidentStatus, Service
from helpcenter.services import incident_post_update
from tenants.models import User
from tests.admin_forms import form_data, grant
from tests.conftest import T0, World

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root@provider.test", "a-long-test-pw-1"))
    return client


def test_posting_an_update_in_the_admin_changes_the_status(admin_client: Client) -> None:
    add = reverse("admin:helpcenter_incident_add")
    data = form_data(admin_client.get(add))
    data.update(
        {
            "service": Service.objects.get(slug="teams").pk,
            "impact": "outage",
            "title": "Meetings fail",
            "updates-0-status": "identified",
            "updates-0-body": "We found the cause.",
        }
    )
    response = admin_client.post(add, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    incident = Incident.objects.get(title="Meetings fail")
    assert incident.status == IncidentStatus.IDENTIFIED
    update = incident.updates.get()
    assert update.author is not None and update.author.is_superuser

    change = reverse("admin:helpcenter_incident_change", args=[incident.pk])
    page = admin_client.get(change)
    assert b"We found the cause." in page.content
    data = form_data(page)
    extra = f"updates-{int(data['updates-INITIAL_FORMS'])}"
    data.update({f"{extra}-status": "resolved", f"{extra}-body": "Fixed for everyone."})
    response = admin_client.post(change, data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.resolved_at is not None
    assert incident.updates.count() == 2


def test_saving_an_article_in_the_admin_renders_it(admin_client: Client) -> None:
    add = reverse("admin:helpcenter_article_add")
    response = admin_client.post(
        add,
        {
            "title": "Reset a password",
            "slug": "reset-a-password",
            "language": "en",
            "services": [Service.objects.get(slug="identity").pk],
            "is_published": "on",
            "body": "## Steps\n\n<script>x</script> [docs](https://example.test)",
        },
    )
    assert response.status_code == 302
    article = Article.objects.get(slug="reset-a-password")
    assert "<h2>Steps</h2>" in article.body_html
    assert "<script>" not in article.body_html
    assert 'rel="noopener noreferrer"' in article.body_html
    assert article.excerpt.startswith("Steps")
    assert article.author is not None


def test_help_center_admin_pages_render(admin_client: Client) -> None:
    for model in ("incident", "incidentupdate", "article", "supportline", "helpsearch"):
        for suffix in ("", "?q=x"):
            url = reverse(f"admin:helpcenter_{model}_changelist") + suffix
            assert admin_client.get(url).status_code == 200, url
    assert admin_client.get(reverse("admin:helpcenter_incident_add")).status_code == 200
    assert admin_client.get(reverse("admin:helpcenter_helpsearch_add")).status_code == 403


# --- Writes through the services (issue 13, item 4) ------------------------------------------


def _article(slug: str, *, published: bool) -> Article:
    # As imported or seeded: no rendered body yet.
    return Article.objects.create(
        title=slug, slug=slug, language="en", body="## Steps\n\nDo this.", is_published=published
    )


def test_publishing_in_the_admin_renders_stamps_and_logs(admin_client: Client) -> None:
    draft = _article("draft", published=False)
    live = _article("live", published=True)
    url = reverse("admin:helpcenter_article_changelist")

    with time_machine.travel(T0, tick=False):
        published = admin_client.post(
            url, {"action": "publish", "_selected_action": [draft.pk, live.pk]}, follow=True
        )

    draft.refresh_from_db()
    assert draft.is_published
    assert "<h2>Steps</h2>" in draft.body_html
    assert draft.updated_at == T0
    assert [str(m) for m in published.context["messages"]] == ["1 article published."]
    assert list(LogEntry.objects.values_list("object_id", "change_message")) == [
        (str(draft.pk), "Published.")
    ]

    admin_client.post(url, {"action": "unpublish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert not draft.is_published
    assert LogEntry.objects.filter(object_id=str(draft.pk), change_message="Unpublished.")


def test_publishing_needs_the_change_permission(client: Client, world: World) -> None:
    draft = _article("draft", published=False)
    client.force_login(grant(world.supervisor, "helpcenter.view_article"))
    url = reverse("admin:helpcenter_article_changelist")

    page = client.get(url)
    client.post(url, {"action": "publish", "_selected_action": [draft.pk]})

    assert page.status_code == 200
    assert b'value="publish"' not in page.content
    draft.refresh_from_db()
    assert not draft.is_published
    assert not LogEntry.objects.exists()


def test_posted_incident_updates_are_not_deleted_in_the_admin(admin_client: Client) -> None:
    incident = Incident.objects.create(service=Service.objects.get(slug="teams"), title="Down")
    incident_post_update(
        incident=incident, author=None, status="identified", body="Found it.", now=T0
    )
    update = incident.updates.get()
    url = reverse("admin:helpcenter_incident_change", args=[incident.pk])
    data = form_data(admin_client.get(url))
    data["updates-0-DELETE"] = "on"

    edited = admin_client.post(url, data)
    deleted = admin_client.post(
        reverse("admin:helpcenter_incidentupdate_delete", args=[update.pk]), {"post": "yes"}
    )

    assert edited.status_code == 302
    assert deleted.status_code == 403
    assert incident.updates.filter(pk=update.pk).exists()
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.IDENTIFIED


def test_an_incident_edit_keeps_its_status_and_a_resolved_one_gets_its_time(
    admin_client: Client,
) -> None:
    add = reverse("admin:helpcenter_incident_add")
    data = form_data(admin_client.get(add))
    data.update(
        {
            "service": Service.objects.get(slug="teams").pk,
            "impact": "degraded",
            "status": "resolved",
            "title": "Recorded after the fact",
        }
    )
    with time_machine.travel(T0, tick=False):
        assert admin_client.post(add, data).status_code == 302
    incident = Incident.objects.get(title="Recorded after the fact")
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.resolved_at is not None and incident.resolved_at >= incident.started_at

    change = reverse("admin:helpcenter_incident_change", args=[incident.pk])
    data = form_data(admin_client.get(change))
    data.update({"title": "Renamed", "status": "investigating"})
    assert admin_client.post(change, data).status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.status) == ("Renamed", IncidentStatus.RESOLVED)


def test_the_deflection_record_cannot_be_deleted(admin_client: Client, world: World) -> None:
    search = HelpSearch.objects.create(
        organization=world.org_a, user=world.admin_a.user, query="vpn", searched_at=T0
    )

    response = admin_client.post(
        reverse("admin:helpcenter_helpsearch_delete", args=[search.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert HelpSearch.objects.filter(pk=search.pk).exists()
