"""``/healthz``: web, database, broker and the sweep's heartbeat, as JSON.

200 when all is well; 503 when the database or broker cannot be reached or the last
sweep is older than three intervals (escalations would be late). Meant for load
balancers and monitoring; it shows no tenant data.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tickets.health import sweep_status


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _broker() -> str:
    from supportdesk.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
    return "ok"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = _database()
    broker = _broker()
    checks: dict[str, object] = {"web": "ok", "database": database, "broker": broker}
    healthy = database == "ok" and broker == "ok"
    if database == "ok":
        status = sweep_status(now=timezone.now())
        checks["sweep"] = {
            "last_run_at": status.last_run_at.isoformat() if status.last_run_at else None,
            "age_seconds": round(status.age.total_seconds(), 1) if status.age else None,
            "interval_seconds": status.interval.total_seconds(),
            "stale": status.stale,
        }
        healthy = healthy and not status.stale
    checks["status"] = "ok" if healthy else "unhealthy"
    return JsonResponse(checks, status=200 if healthy else 503)
