from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from slapolicies.models import PolicyChange


@admin.register(PolicyChange)
class PolicyChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail: written only by slapolicies.services, never edited."""

    list_display = (
        "created_at",
        "action",
        "actor",
        "policy",
        "version",
        "calendar",
        "organization",
    )
    list_filter = ("action", "policy", "calendar")
    search_fields = ("actor__email", "policy__name", "calendar__name", "organization__name")
    date_hierarchy = "created_at"
    list_select_related = ("actor", "policy", "version__policy", "calendar", "organization")
