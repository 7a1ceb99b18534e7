"""Incoming e-mail in the Django admin: what the desk received and what it did with it,
with the original message as text. Written only by ``mailin.services.ingest``."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin
from mailin.models import IncomingMail

# The original is shown as text up to this size; the file keeps all of it.
SHOWN_BYTES = 200_000


@admin.register(IncomingMail)
class IncomingMailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "sender", "subject", "action", "ticket", "source")
    list_filter = ("action", "source")
    search_fields = ("message_id", "sender", "subject")
    list_select_related = ("ticket",)
    date_hierarchy = "received_at"
    exclude = ("raw",)
    readonly_fields = ("original",)

    @admin.display(description=_("original e-mail"))
    def original(self, mail: IncomingMail) -> str:
        if not mail.raw:
            return "—"
        # Never a link to the file: the media folder is not served, and a browser must not
        # render what a stranger sent. Shown escaped, as text.
        with mail.raw.open("rb") as stored:
            text = stored.read(SHOWN_BYTES).decode("utf-8", errors="replace")
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", text)
