"""Privacy's Celery tasks: adapters that take ids and call one service each."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="privacy.tasks.build_export")
def build_export(job_id: int) -> dict[str, int]:
    """Write one export's zip (privacy.services.export_run); a second run does nothing."""
    from privacy.services import export_run

    job = export_run(job_id)
    return {"done": job.done, "total": job.total}


@shared_task(name="privacy.tasks.expire_exports")
def expire_exports() -> dict[str, int]:
    """Beat, hourly: exports nobody downloaded in time lose their file."""
    from privacy.services import exports_clean_up

    return exports_clean_up(now=timezone.now())


@shared_task(name="privacy.tasks.purge_retention")
def purge_retention() -> dict[str, int]:
    """Beat, hourly: closed requests past their organization's retention period."""
    from privacy.services import retention_purge

    purge = retention_purge(now=timezone.now())
    return {"organizations": purge.organizations, "requests": purge.requests, "files": purge.files}
