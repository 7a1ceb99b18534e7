"""Celery entry points for the SLA editor: thin adapters over ``slapolicies.previews``."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from slapolicies import previews


@shared_task(name="slapolicies.tasks.review_preview")
def review_preview(preview_id: int) -> dict[str, int]:
    """Count what publishing a draft would do to the open requests (a large review's
    preview). Safe to run twice: the second run finds the preview taken."""
    job = previews.preview_run(preview_id, now=timezone.now())
    return {"done": job.done if job else 0, "total": job.total if job else 0}
