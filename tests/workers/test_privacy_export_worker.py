"""A data export written by a real worker (issue 17): queued on commit by the request, the
zip built in batches by a Celery worker process, then downloaded once."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from privacy import services
from privacy.models import ExportJob, ExportStatus, ExportVia
from tests.conftest import World
from tests.privacy.helpers import FILE_BYTES, REPLY_FILE_BYTES, customer_story
from tests.workers.conftest import Cluster, wait_until

pytestmark = [
    pytest.mark.workers,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_a_worker_writes_the_export_and_its_requester_downloads_it_once(
    world: World, cluster: Cluster, settings: Any, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)
    story = customer_story(world)
    cluster.worker(MEDIA_ROOT=str(media))
    with transaction.atomic():
        job = services.export_request(
            requester=world.admin_a.user,
            via=ExportVia.PORTAL,
            organization=world.org_a,
            now=timezone.now(),
        )

    def ready() -> bool:
        job.refresh_from_db()
        assert job.status != ExportStatus.FAILED, job.error
        return job.status == ExportStatus.READY

    wait_until(ready, timeout=60, interval=0.2, what="the export", logs=cluster.logs)
    assert (job.done, job.total, job.percent) == (2, 2, 100)
    archive = zipfile.ZipFile(default_storage.open(job.file, "rb"))
    document = json.loads(archive.read(f"requests/{story.ticket.reference}.json"))
    files = sorted(archive.read(a["file"]) for a in document["attachments"])
    assert files == sorted([FILE_BYTES, REPLY_FILE_BYTES])
    archive.close()
    name = services.export_collect(job=job, user=world.admin_a.user, now=timezone.now())
    assert name == job.file
    with pytest.raises(services.PrivacyRefused):
        services.export_collect(job=job, user=world.admin_a.user, now=timezone.now())
    assert ExportJob.objects.get(pk=job.pk).status == ExportStatus.DOWNLOADED
