"""The review's preview of open requests (slapolicies.previews): a large one is a
worker's job whose result is exactly the request's count; the page shows small ones at
once and polls large ones; a draft changed, published or discarded meanwhile, or a
worker that failed, is said so on the page and never an error page."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from severity.models import SlaPolicy, SlaPolicyVersion
from slapolicies import previews, services
from slapolicies.models import PreviewStatus, ReviewPreview
from tests.conftest import T0, World
from tests.slapolicies.test_services import draft_with, steps_of, targets_of
from tickets.models import RemeasureKind
from tickets.remeasure import Impact, preview

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
NOW = T0 + 3 * H


@pytest.fixture
def default() -> SlaPolicy:
    return SlaPolicy.objects.default()


@pytest.fixture
def open_requests(world: World) -> None:
    """Requests of several kinds and ages, so that a draft moves some earlier, some
    later, leaves some alone and makes one breach at once."""
    world.file(now=T0 - 2 * H)
    world.file(now=T0 - 20 * H)
    world.file(now=T0 - H, category="billing", impact="degraded", scope="one", product=None)
    world.file(now=T0, category="billing", impact="degraded", scope="one", product=None)
    world.file(now=T0 - 4 * H, impact="service_down", scope="many")


@pytest.fixture
def draft(world: World, default: SlaPolicy) -> SlaPolicyVersion:
    return draft_with(
        world,
        default,
        B_technical={"first_response": 2 * H},
        B_billing={"first_response": 20 * H},
        C_billing={"first_response": 40 * H},
    )


@pytest.fixture
def large(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every preview is a worker's: the threshold at nothing, the tasks switched on
    (queued on commit, which these tests capture without running)."""
    monkeypatch.setattr(previews, "SYNC_LIMIT", 0)
    settings.SUPPORTDESK = dataclasses.replace(settings.SUPPORTDESK, DEADLINE_TASKS=True)


# --- Service ---------------------------------------------------------------------------------


def test_the_workers_preview_is_the_requests_count(
    world: World,
    open_requests: None,
    draft: SlaPolicyVersion,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    expected = preview(kind=RemeasureKind.POLICY, now=NOW, version=draft)
    assert expected.total == 5
    assert expected.moved_earlier and expected.moved_later and expected.breached_now
    # Batches of two: the tally is written after each one, as the progress bar.
    monkeypatch.setattr("tickets.remeasure.BATCH_SIZE", 2)
    seen: list[int] = []
    counting = previews.policy_impact

    def watched(**kwargs: Any) -> Impact:
        progress = kwargs.pop("progress")

        def spy(impact: Impact) -> None:
            progress(impact)
            seen.append(ReviewPreview.objects.get().done)

        return counting(progress=spy, **kwargs)

    monkeypatch.setattr(previews, "policy_impact", watched)
    with django_capture_on_commit_callbacks() as queued:
        job = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW)
    assert len(queued) == 1  # the task, after commit (the tasks are off: not sent)
    assert (job.status, job.done, job.total) == (PreviewStatus.QUEUED, 0, 5)

    finished = previews.preview_run(job.pk, now=NOW)

    assert finished is not None and finished.status == PreviewStatus.DONE
    assert seen == [2, 4, 5]
    assert previews.impact_of(finished) == expected
    assert finished.percent == 100
    # The small path is the same function with the same answer.
    monkeypatch.undo()
    assert previews.review_impact(version=draft, actor=world.supervisor, now=NOW) == expected


def test_a_preview_runs_once(world: World, open_requests: None, draft: SlaPolicyVersion) -> None:
    job = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW)
    previews.preview_run(job.pk, now=NOW)
    ReviewPreview.objects.filter(pk=job.pk).update(moved_later=99)
    again = previews.preview_run(job.pk, now=NOW)  # a second delivery of the task
    assert again is not None and again.moved_later == 99
    assert previews.preview_run(job.pk + 1000, now=NOW) is None  # gone: nothing to do


def test_a_recent_preview_is_reused_unless_fresh_or_the_draft_changed(
    world: World, draft: SlaPolicyVersion
) -> None:
    first = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW)
    soon = NOW + timedelta(seconds=10)
    again = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=soon)
    assert again.pk == first.pk
    fresh = previews.preview_start(
        version=draft, actor=world.supervisor, total=5, now=soon, fresh=True
    )
    assert fresh.pk != first.pk
    # Still queued a minute on: no worker took it (busy, or the message was lost).
    waited = previews.preview_start(
        version=draft, actor=world.supervisor, total=5, now=NOW + H / 60
    )
    assert waited.pk not in (first.pk, fresh.pk)
    later = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW + H)
    assert later.pk not in (first.pk, fresh.pk, waited.pk)
    services.draft_update(
        version=draft,
        steps=steps_of(draft),
        targets=targets_of(draft, B_technical={"first_response": 3 * H}),
        note="",
        actor=world.supervisor,
        now=NOW + H,
    )
    changed = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW + H)
    assert changed.pk != later.pk
    # A day on, the old rows are gone.
    previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW + 48 * H)
    assert ReviewPreview.objects.count() == 1


def test_a_draft_changed_before_the_worker_starts_is_not_counted(
    world: World, open_requests: None, draft: SlaPolicyVersion
) -> None:
    job = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW)
    services.draft_update(
        version=draft,
        steps=steps_of(draft),
        targets=targets_of(draft, B_technical={"first_response": 3 * H}),
        note="",
        actor=world.supervisor,
        now=NOW,
    )
    done = previews.preview_run(job.pk, now=NOW)
    assert done is not None and done.status == PreviewStatus.STALE
    assert done.done == 0
    assert previews.preview_problem(done, now=NOW) == str(previews.ERR_DRAFT_CHANGED)


def test_a_failed_or_stalled_preview_says_so(
    world: World, open_requests: None, draft: SlaPolicyVersion, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Impact:
        raise RuntimeError("database went away")

    monkeypatch.setattr(previews, "policy_impact", broken)
    job = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW)
    failed = previews.preview_run(job.pk, now=NOW)
    assert failed is not None and failed.status == PreviewStatus.FAILED
    assert "database went away" in failed.error
    assert previews.preview_problem(failed, now=NOW) == str(previews.ERR_FAILED)

    running = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW)
    ReviewPreview.objects.filter(pk=running.pk).update(status=PreviewStatus.RUNNING, touched_at=NOW)
    running.refresh_from_db()
    assert previews.preview_problem(running, now=NOW + H / 60) is None
    stalled_at = NOW + previews.STALLED_AFTER + H / 60
    assert previews.preview_problem(running, now=stalled_at) == str(previews.ERR_STALLED)
    # A reload then starts another.
    replaced = previews.preview_start(
        version=draft, actor=world.supervisor, total=5, now=stalled_at
    )
    assert replaced.pk != running.pk


# --- Pages -----------------------------------------------------------------------------------


@pytest.fixture
def supervisor(client: Client, world: World) -> Client:
    client.force_login(world.supervisor)
    return client


def review_url(version: SlaPolicyVersion) -> str:
    return reverse("slapolicies:review", kwargs={"version": version.pk})


def poll_url(job: ReviewPreview) -> str:
    return reverse("slapolicies:review_preview", kwargs={"preview": job.pk})


def test_a_small_preview_is_counted_in_the_request(
    supervisor: Client, open_requests: None, draft: SlaPolicyVersion
) -> None:
    page = supervisor.get(review_url(draft))
    assert page.status_code == 200
    assert b"5 open requests measured on this policy" in page.content
    assert b'id="review-preview"' not in page.content
    assert not ReviewPreview.objects.exists()


def test_a_large_preview_shows_its_progress_then_the_result(
    supervisor: Client,
    open_requests: None,
    draft: SlaPolicyVersion,
    large: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as queued:
        page = supervisor.get(review_url(draft))
    assert page.status_code == 200
    job = ReviewPreview.objects.get()
    assert len(queued) == 1
    assert (job.version_id, job.total, job.status) == (draft.pk, 5, PreviewStatus.QUEUED)
    text = page.content.decode()
    assert f'hx-get="{poll_url(job)}"' in text and 'hx-trigger="every 1s"' in text
    assert "0 of 5 open requests (0 %)" in text
    assert 'id="impact"' not in text
    # The publish buttons do not wait for the preview.
    assert 'name="apply_to_open" value="1"' in text

    polled = supervisor.get(poll_url(job))
    assert polled.status_code == 200
    assert b"0 of 5 open requests (0 %)" in polled.content
    assert b'hx-trigger="every 1s"' in polled.content
    # A reload while it runs shows the same preview; nothing more is queued.
    with django_capture_on_commit_callbacks() as queued_again:
        supervisor.get(review_url(draft))
    assert ReviewPreview.objects.count() == 1 and not queued_again

    assert b"preview-waiting" not in polled.content
    ReviewPreview.objects.filter(pk=job.pk).update(created_at=job.created_at - H / 60)
    assert b"preview-waiting" in supervisor.get(poll_url(job)).content  # no worker took it yet
    ReviewPreview.objects.filter(pk=job.pk).update(status=PreviewStatus.RUNNING, done=2)
    assert b"2 of 5 open requests (40 %)" in supervisor.get(poll_url(job)).content

    ReviewPreview.objects.filter(pk=job.pk).update(status=PreviewStatus.QUEUED, done=0)
    previews.preview_run(job.pk, now=NOW)
    expected = preview(kind=RemeasureKind.POLICY, now=NOW, version=draft)
    done = supervisor.get(poll_url(job))
    text = done.content.decode()
    assert "hx-trigger" not in text  # finished: polling stops
    assert 'id="impact"' in text
    assert "5 open requests measured on this policy" in text
    assert (
        f"{expected.moved_earlier} move earlier, {expected.moved_later} later, "
        f"{expected.unchanged} unchanged, {expected.breached_now} would breach at once"
    ) in text
    assert f"{review_url(draft)}?fresh=1" in text
    # The page itself shows the result now too, and "count again" starts another.
    assert b'id="impact"' in supervisor.get(review_url(draft)).content
    supervisor.get(review_url(draft) + "?fresh=1")
    assert ReviewPreview.objects.count() == 2


@pytest.mark.parametrize("what", ["edited", "published", "discarded"])
def test_a_draft_changed_meanwhile_is_said_so(
    supervisor: Client,
    world: World,
    open_requests: None,
    draft: SlaPolicyVersion,
    large: None,
    what: str,
) -> None:
    supervisor.get(review_url(draft))
    job = ReviewPreview.objects.get()
    previews.preview_run(job.pk, now=NOW)
    if what == "edited":
        services.draft_update(
            version=draft,
            steps=steps_of(draft),
            targets=targets_of(draft, B_technical={"first_response": 3 * H}),
            note="",
            actor=world.supervisor,
            now=NOW,
        )
        message = previews.ERR_DRAFT_CHANGED
    elif what == "published":
        services.version_publish(
            version=draft, actor=world.supervisor, apply_to_open=False, now=NOW
        )
        message = previews.ERR_PUBLISHED
    else:
        services.draft_discard(version=draft, actor=world.supervisor, now=NOW)
        message = previews.ERR_DISCARDED

    polled = supervisor.get(poll_url(job))

    assert polled.status_code == 200
    assert str(message) in polled.content.decode()
    assert b"hx-trigger" not in polled.content
    assert b'id="impact"' not in polled.content


def test_a_failed_preview_is_said_so_and_a_reload_tries_again(
    supervisor: Client,
    open_requests: None,
    draft: SlaPolicyVersion,
    large: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    supervisor.get(review_url(draft))
    job = ReviewPreview.objects.get()

    def broken(**kwargs: Any) -> Impact:
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(previews, "policy_impact", broken)
        previews.preview_run(job.pk, now=NOW)
    polled = supervisor.get(poll_url(job))
    assert polled.status_code == 200
    assert str(previews.ERR_FAILED) in polled.content.decode()
    assert b"database went away" not in polled.content  # the log has it, not the page
    supervisor.get(review_url(draft))
    assert ReviewPreview.objects.count() == 2


def test_the_preview_is_for_supervisors_and_unknown_ids_are_404(
    client: Client, world: World, draft: SlaPolicyVersion, large: None
) -> None:
    job = previews.preview_start(version=draft, actor=world.supervisor, total=5, now=NOW)
    client.force_login(world.agent)
    assert client.get(poll_url(job)).status_code == 404
    client.force_login(world.admin_b.user)
    assert client.get(poll_url(job)).status_code == 404
    client.force_login(world.supervisor)
    assert client.get(poll_url(job)).status_code == 200
    missing = reverse("slapolicies:review_preview", kwargs={"preview": job.pk + 1000})
    assert client.get(missing).status_code == 404
