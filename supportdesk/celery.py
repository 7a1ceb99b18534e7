"""The Celery application: workers and beat (DESIGN.md "Workers").

Configuration lives in ``settings`` under the ``CELERY_`` prefix; this module only
creates the app and finds the tasks.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
