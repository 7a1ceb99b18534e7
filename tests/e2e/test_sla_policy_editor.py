"""The SLA policy editor in a real browser (issue 15): a supervisor shortens the Severity
B technical first response, sees the preview, publishes and re-measures the open
requests, watches the progress bar reach 100 %, and the queue's countdown of an open B
request moves earlier.

The re-measure task runs eagerly here (in the server's thread, when the publish commits):
the browser tier starts no Celery worker. The worker tier re-measures with a real worker.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import World
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

H = timedelta(hours=1)


@pytest.fixture
def eager_tasks(settings: Any) -> Iterator[None]:
    from supportdesk.celery import app

    # The SLA tasks are published (the tests switch them off), and run at once.
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, DEADLINE_TASKS=True)
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


def _due(page: object, ticket_pk: int) -> datetime:
    countdown = page.locator(f'tr[data-ticket="{ticket_pk}"] time.countdown')  # type: ignore[attr-defined]
    return datetime.fromisoformat(countdown.get_attribute("datetime"))


def test_supervisor_publishes_a_shorter_target_and_open_requests_move(
    world: World, page: object, eager_tasks: None
) -> None:
    from playwright.sync_api import expect

    ticket = world.file(now=timezone.now() - timedelta(hours=1))
    assert (ticket.severity, ticket.category) == ("B", "technical")
    sign_in(page, world.supervisor.email)
    page.goto("/desk/")  # type: ignore[attr-defined]
    before = _due(page, ticket.pk)

    page.get_by_role("link", name="SLA policies").click()  # type: ignore[attr-defined]
    page.get_by_role("link", name="Standard terms").click()  # type: ignore[attr-defined]
    page.get_by_role("button", name="New version").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Draft version 2"))
    field = page.get_by_label("B Technical: first response within (hours)", exact=True)  # type: ignore[attr-defined]
    expect(field).to_have_value("15")
    field.fill("8")
    page.get_by_role("textbox", name="What changed").fill("B technical answered within 8 h")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Review and publish").click()  # type: ignore[attr-defined]

    impact = page.locator("#impact")  # type: ignore[attr-defined]
    expect(impact).to_contain_text("1 open request measured on this policy")
    expect(impact).to_contain_text("1 move earlier, 0 later, 0 unchanged, 0 would breach at once")
    expect(page.locator("#target-B-technical")).to_contain_text("was 15 h")  # type: ignore[attr-defined]
    page.get_by_role("button", name="Publish and re-measure open requests").click()  # type: ignore[attr-defined]

    expect(page).to_have_url(re.compile(r"/desk/sla/jobs/\d+/$"))
    progress = page.locator("#job-progress")  # type: ignore[attr-defined]
    expect(progress).to_contain_text("1 of 1 requests re-measured (100 %)")
    expect(page.locator("#job-bar")).to_have_attribute("value", "100")  # type: ignore[attr-defined]
    expect(page.locator("#job-earlier")).to_have_text("1")  # type: ignore[attr-defined]
    # Finished: the fragment no longer polls.
    expect(progress).not_to_have_attribute("hx-trigger", re.compile(".*"))

    page.get_by_role("link", name="The queue").click()  # type: ignore[attr-defined]
    after = _due(page, ticket.pk)
    assert after < before
    ticket.refresh_from_db()
    assert ticket.response_due_at == after


def test_the_editor_pages_are_accessible(world: World, page: object) -> None:
    """axe's serious and critical WCAG findings, phone width and focus indicators (as
    tests/e2e/test_accessibility.py checks the portal) on each page of the editor."""
    from severity.models import Calendar, SlaPolicy
    from slapolicies import services
    from tests.e2e.test_accessibility import report, serve_axe, visit
    from tickets.models import RemeasureJob, RemeasureKind

    now = timezone.now()
    world.file(now=now - timedelta(hours=1))
    policy = SlaPolicy.objects.default()
    draft = services.version_draft(policy=policy, actor=world.supervisor, now=now)
    calendar = Calendar.objects.get(name="Pre-sales")
    job = RemeasureJob.objects.create(
        kind=RemeasureKind.POLICY, version=policy.current_version, total=4, done=1, created_at=now
    )
    serve_axe(page)
    sign_in(page, world.supervisor.email)
    findings = []
    for path, name in (
        ("/desk/sla/", "policies"),
        (f"/desk/sla/policies/{policy.pk}/", "policy"),
        (f"/desk/sla/versions/{draft.pk}/", "draft editor"),
        (f"/desk/sla/versions/{draft.pk}/review/", "review and publish"),
        (f"/desk/sla/organizations/?organization={world.org_a.pk}&policy=", "organization"),
        (f"/desk/sla/jobs/{job.pk}/", "re-measure"),
        ("/desk/sla/calendars/", "calendars"),
        (f"/desk/sla/calendars/{calendar.pk}/", "calendar"),
    ):
        findings += visit(page, path, name)
    assert not findings, report(findings)


def test_the_progress_bar_follows_a_running_job(
    world: World, page: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job page polls its fragment every second until the job is done, without a
    reload; here the job is queued first and run by the test between two looks."""
    from playwright.sync_api import expect

    from severity.models import SlaPolicy
    from slapolicies import services
    from tickets import remeasure

    monkeypatch.setattr(remeasure, "publish", lambda job_id: None)  # nothing queued
    now = timezone.now()
    world.file(now=now - timedelta(hours=1))
    policy = SlaPolicy.objects.default()
    draft = services.version_draft(policy=policy, actor=world.supervisor, now=now)
    job = services.version_publish(
        version=draft, actor=world.supervisor, apply_to_open=True, now=now
    )
    assert job is not None
    sign_in(page, world.supervisor.email)
    page.goto(f"/desk/sla/jobs/{job.pk}/")  # type: ignore[attr-defined]
    progress = page.locator("#job-progress")  # type: ignore[attr-defined]
    expect(progress).to_contain_text("0 of 1 requests re-measured (0 %)")
    expect(progress).to_have_attribute("hx-trigger", "every 1s")
    expect(progress.get_by_role("link", name="Refresh")).to_be_visible()

    remeasure.remeasure_run(job.pk)

    expect(progress).to_contain_text("1 of 1 requests re-measured (100 %)", timeout=5_000)
    expect(page.locator("#job-status")).to_have_text("Done")  # type: ignore[attr-defined]
    expect(progress).not_to_have_attribute("hx-trigger", re.compile(".*"))
    expect(page).to_have_url(re.compile(rf"/desk/sla/jobs/{job.pk}/$"))


def test_a_large_preview_shows_its_progress_and_then_the_result(
    world: World, page: object, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the threshold the review page comes at once with a progress bar that htmx
    polls; the worker's result replaces it when ready. The test is the worker here."""
    from playwright.sync_api import expect

    from severity.models import SlaPolicy
    from slapolicies import previews
    from slapolicies.models import ReviewPreview
    from tests.slapolicies.test_services import draft_with

    world.file(now=timezone.now() - timedelta(hours=1))
    draft = draft_with(world, SlaPolicy.objects.default(), B_technical={"first_response": 8 * H})
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, DEADLINE_TASKS=True)
    monkeypatch.setattr(previews, "SYNC_LIMIT", 0)
    monkeypatch.setattr(previews, "_publish", lambda job_id: None)
    sign_in(page, world.supervisor.email)

    page.goto(f"/desk/sla/versions/{draft.pk}/review/")  # type: ignore[attr-defined]
    progress = page.locator("#review-preview")  # type: ignore[attr-defined]
    expect(progress).to_contain_text("0 of 1 open request (0 %)")
    expect(progress).to_have_attribute("hx-trigger", "every 1s")
    job = ReviewPreview.objects.get()
    previews.preview_run(job.pk, now=timezone.now())

    impact = page.locator("#impact")  # type: ignore[attr-defined]
    expect(impact).to_contain_text("1 open request measured on this policy")
    expect(impact).to_contain_text("1 move earlier, 0 later, 0 unchanged, 0 would breach at once")
    expect(progress).not_to_have_attribute("hx-trigger", re.compile(".*"))
