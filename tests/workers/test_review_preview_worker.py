"""A large review's preview counted by a real worker: the review page queues it on
commit, a Celery worker process counts it, and the polled fragment shows the result,
the same numbers the request would have counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from severity.models import SlaPolicy
from slapolicies import previews
from slapolicies.models import PreviewStatus, ReviewPreview
from tests.conftest import World
from tests.slapolicies.test_services import draft_with
from tests.workers.conftest import Cluster, wait_until
from tickets.models import RemeasureKind
from tickets.remeasure import preview

pytestmark = [
    pytest.mark.workers,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

H = timedelta(hours=1)


def test_a_worker_counts_a_large_preview_that_the_page_polls(
    world: World, cluster: Cluster, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.now()
    for hours in (1, 3, 20):
        world.file(now=now - hours * H)
    world.file(now=now - H, category="billing", impact="degraded", scope="one", product=None)
    draft = draft_with(world, SlaPolicy.objects.default(), B_technical={"first_response": 2 * H})
    monkeypatch.setattr(previews, "SYNC_LIMIT", 0)
    cluster.worker()
    client.force_login(world.supervisor)

    page = client.get(reverse("slapolicies:review", kwargs={"version": draft.pk}))
    assert page.status_code == 200
    job = ReviewPreview.objects.get()
    poll = reverse("slapolicies:review_preview", kwargs={"preview": job.pk})
    assert f'hx-get="{poll}"'.encode() in page.content

    done = wait_until(
        lambda: ReviewPreview.objects.filter(pk=job.pk, status=PreviewStatus.DONE).first(),
        timeout=60,
        what="the worker to count the preview",
        logs=cluster.logs,
    )
    assert done.started_at is not None
    expected = preview(kind=RemeasureKind.POLICY, now=done.started_at, version=draft)
    assert expected.total == 4 and expected.moved_earlier >= 1
    assert (done.total, done.moved_earlier, done.moved_later) == (
        expected.total,
        expected.moved_earlier,
        expected.moved_later,
    )
    assert (done.unchanged, done.breached_now) == (expected.unchanged, expected.breached_now)
    fragment = client.get(poll).content.decode()
    assert 'id="impact"' in fragment and "hx-trigger" not in fragment
    assert "4 open requests measured on this policy" in fragment
