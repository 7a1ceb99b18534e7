"""Supervisors manage incidents, articles and phone lines in the Django admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpcenter.models import Article, Incident, IncidentStatus, Service
from tenants.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root@provider.test", "a-long-test-pw-1"))
    return client


def form_data(response: Any) -> dict[str, Any]:
    """The POST body the admin page would send back unchanged (main form and inlines)."""
    data: dict[str, Any] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(
            {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()}
        )
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form[name].value()
            if value is None or value is False:
                continue
            if hasattr(field.widget, "widgets"):  # split date/time
                for index, part in enumerate(field.widget.decompress(value)):
                    data[f"{form.add_prefix(name)}_{index}"] = part or ""
            elif isinstance(value, list):
                data[form.add_prefix(name)] = [str(v) for v in value]
            else:
                data[form.add_prefix(name)] = value
    return data


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
