"""The review page's preview of what publishing a draft does to the open requests.

One function counts it: ``tickets.remeasure.preview``. Up to ``SYNC_LIMIT`` open
requests the page calls it in the request, as it always
did; above, counting takes seconds (about 7.6 s at 100,000), so ``review_impact``
records a ``ReviewPreview`` and a worker calls the same function
(``preview_run``, task ``slapolicies.tasks.review_preview``), writing the tally after
every batch: the page shows its progress at once and the result when it is ready.

A preview answers for the draft as it stood when it was asked for. The draft's terms
are fingerprinted then; a draft edited, published or discarded since is said so on the
page (``preview_problem``) rather than shown with numbers that no longer apply.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from severity.models import SlaPolicyVersion, refresh_now
from slapolicies.models import PreviewStatus, ReviewPreview
from slapolicies.services import version_snapshot
from tenants.models import User
from tickets.models import RemeasureKind
from tickets.remeasure import Impact, candidates, preview

logger = logging.getLogger(__name__)

ERR_DISCARDED = _("This draft was discarded while its preview was being computed.")
ERR_PUBLISHED = _("This version was published while its preview was being computed.")
ERR_DRAFT_CHANGED = _(
    "The draft changed after this preview was started: reload the review for a fresh one."
)
ERR_FAILED = _("The preview could not be computed: reload the review to try again.")
ERR_STALLED = _("The worker computing the preview stopped: reload the review to try again.")

# Up to this many open requests the preview is counted in the request (about 0.15 s at
# 2,000, the common case); above, by a worker (about 7.6 s at 100,000 would otherwise
# hold the page and a web worker, and risk the proxy's timeout).
SYNC_LIMIT = 2000
# A reload within this time shows the same preview (still running, or its result)
# rather than counting everything again.
REUSE_FOR = timedelta(minutes=5)
# A running preview that made no progress for this long lost its worker.
STALLED_AFTER = timedelta(minutes=2)
# A preview still queued after this long waits for a busy (or stopped) worker: the page
# says so while it goes on polling, and a reload queues another.
WAITING_AFTER = timedelta(seconds=30)
type ProgressFn = Callable[[Impact], None]

# Previews are throw-away: older rows are deleted when a new one is recorded.
KEEP_FOR = timedelta(days=1)


def draft_fingerprint(version: SlaPolicyVersion) -> str:
    """The draft's terms (steps and targets) as a short hash: equal while unchanged."""
    terms = json.dumps(version_snapshot(version), sort_keys=True, default=str)
    return hashlib.sha256(terms.encode()).hexdigest()


def policy_impact(
    *, version: SlaPolicyVersion, now: datetime, progress: ProgressFn | None = None
) -> Impact:
    """The preview of publishing ``version`` for its open requests: the request and the
    worker both call this, so the numbers are the same either way."""
    return preview(kind=RemeasureKind.POLICY, now=now, version=version, progress=progress)


def review_impact(
    *, version: SlaPolicyVersion, actor: User, now: datetime, fresh: bool = False
) -> Impact | ReviewPreview:
    """The review's preview: counted now when it is small (or when no worker can be
    asked: the SLA tasks are switched off), else a worker's ``ReviewPreview``, reused
    while recent unless ``fresh``."""
    if settings.SUPPORTDESK.DEADLINE_TASKS:
        total = candidates(kind=RemeasureKind.POLICY, version=version).count()
        if total > SYNC_LIMIT:
            return preview_start(version=version, actor=actor, total=total, now=now, fresh=fresh)
    return policy_impact(version=version, now=now)


@transaction.atomic
def preview_start(
    *,
    version: SlaPolicyVersion,
    actor: User | None,
    total: int,
    now: datetime,
    fresh: bool = False,
) -> ReviewPreview:
    """Record a preview of the draft as it stands and queue its task after commit; a
    recent one of the same terms, still going or done, is returned instead."""
    fingerprint = draft_fingerprint(version)
    if not fresh:
        recent = (
            ReviewPreview.objects.filter(
                version=version,
                fingerprint=fingerprint,
                created_at__gte=now - REUSE_FOR,
                status__in=(PreviewStatus.QUEUED, PreviewStatus.RUNNING, PreviewStatus.DONE),
            )
            .order_by("-created_at", "-pk")
            .first()
        )
        if recent is not None and not _stalled(recent, now=now) and not _waiting(recent, now=now):
            return recent
    ReviewPreview.objects.filter(created_at__lt=now - KEEP_FOR).delete()
    job = ReviewPreview.objects.create(
        version=version,
        fingerprint=fingerprint,
        requested_by=actor,
        total=total,
        created_at=now,
    )
    transaction.on_commit(lambda: _publish(job.pk))
    return job


def _publish(job_id: int) -> None:
    from slapolicies.tasks import review_preview

    try:
        review_preview.apply_async(args=(job_id,), retry=False, ignore_result=True)
    except Exception as error:
        # The page keeps polling and soon says it waits for a worker; a reload then
        # records and queues another (a preview queued that long is not reused).
        logger.warning("review preview %s not queued (%s)", job_id, error)


def preview_run(job_id: int, *, now: datetime) -> ReviewPreview | None:
    """Compute a recorded preview, the tally written after every batch. Runs once: a
    second delivery of the task finds it taken and returns. ``now`` is the time the
    deadlines are judged against, as the request's is on the small path."""
    claimed = ReviewPreview.objects.filter(pk=job_id, status=PreviewStatus.QUEUED).update(
        status=PreviewStatus.RUNNING, started_at=now, touched_at=now
    )
    job = ReviewPreview.objects.select_related("version__policy").filter(pk=job_id).first()
    if job is None or not claimed:
        return job
    problem = preview_problem(job, now=now)
    if problem is not None:
        # Nothing to count for a draft that is gone or changed: the page says why.
        _finish(job, status=PreviewStatus.STALE, error=str(problem))
        return job
    assert job.version is not None  # preview_problem said so
    refresh_now()  # the draft's calendars as they stand, whatever this process cached

    def progress(impact: Impact) -> None:
        ReviewPreview.objects.filter(pk=job_id).update(
            done=impact.total,
            moved_earlier=impact.moved_earlier,
            moved_later=impact.moved_later,
            unchanged=impact.unchanged,
            breached_now=impact.breached_now,
            touched_at=Now(),
        )

    try:
        impact = policy_impact(version=job.version, now=now, progress=progress)
    except Exception as error:
        logger.exception("review preview %s failed", job_id)
        _finish(job, status=PreviewStatus.FAILED, error=str(error)[:2000])
        return job
    ReviewPreview.objects.filter(pk=job_id).update(
        status=PreviewStatus.DONE,
        total=impact.total,
        done=impact.total,
        moved_earlier=impact.moved_earlier,
        moved_later=impact.moved_later,
        unchanged=impact.unchanged,
        breached_now=impact.breached_now,
        touched_at=Now(),
        finished_at=Now(),
    )
    job.refresh_from_db()
    return job


def _finish(job: ReviewPreview, *, status: str, error: str) -> None:
    ReviewPreview.objects.filter(pk=job.pk).update(status=status, error=error, finished_at=Now())
    job.refresh_from_db()


def impact_of(job: ReviewPreview) -> Impact:
    """A finished preview's tally, as the request would have counted it."""
    return Impact(
        total=job.total,
        moved_earlier=job.moved_earlier,
        moved_later=job.moved_later,
        unchanged=job.unchanged,
        breached_now=job.breached_now,
    )


def _stalled(job: ReviewPreview, *, now: datetime) -> bool:
    return (
        job.status == PreviewStatus.RUNNING
        and job.touched_at is not None
        and job.touched_at < now - STALLED_AFTER
    )


def _waiting(job: ReviewPreview, *, now: datetime) -> bool:
    """Still queued a while on: the workers are busy, or its message was lost (a broker
    outage); a reload asks again rather than wait on it."""
    return job.status == PreviewStatus.QUEUED and job.created_at < now - WAITING_AFTER


def preview_problem(job: ReviewPreview, *, now: datetime) -> str | None:
    """Why the preview cannot be shown (the draft is gone, published, changed; the
    worker failed or stopped), or None. One condition per line."""
    version = job.version
    if version is None:
        return str(ERR_DISCARDED)
    if version.is_published:
        return str(ERR_PUBLISHED)
    if draft_fingerprint(version) != job.fingerprint:
        return str(ERR_DRAFT_CHANGED)
    if job.status == PreviewStatus.STALE:
        return str(ERR_DRAFT_CHANGED)
    if job.status == PreviewStatus.FAILED:
        return str(ERR_FAILED)
    if _stalled(job, now=now):
        return str(ERR_STALLED)
    return None


@dataclass(frozen=True)
class PreviewState:
    """What the review page shows of a worker's preview."""

    job: ReviewPreview
    problem: str | None
    impact: Impact | None  # when done and still true of the draft
    waiting: bool  # queued for a while: no worker has taken it yet

    @property
    def polling(self) -> bool:
        return self.problem is None and self.impact is None


def preview_state(job: ReviewPreview, *, now: datetime) -> PreviewState:
    problem = preview_problem(job, now=now)
    done = problem is None and job.status == PreviewStatus.DONE
    return PreviewState(
        job=job,
        problem=problem,
        impact=impact_of(job) if done else None,
        waiting=_waiting(job, now=now),
    )
