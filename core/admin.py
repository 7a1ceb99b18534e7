"""What every app's admin shares."""

from __future__ import annotations

from django.db.models import Model
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """View permission only: Django then renders every field read-only and refuses
    POSTs, and the changelist offers no delete action. For models written only by a
    service (which validates, audits and notifies) or by the workers: a form in the
    admin would skip all of that, so not even a superuser gets one."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
