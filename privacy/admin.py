from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from privacy.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Exports, for the record: who asked for whose data and whether it was collected.
    The file itself only ever goes to its requester (privacy.views)."""

    list_display = ("pk", "kind", "organization", "person", "requested_by", "status", "created_at")
    list_filter = ("kind", "status", "requested_via")
    list_select_related = ("organization", "person", "requested_by")
    exclude = ("file",)
