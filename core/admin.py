"""What every app's admin shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db import router, transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from core.refusals import Refused


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


def has_model_permission(request: HttpRequest, model: type[Model], action: str) -> bool:
    """The user's Django permission ``action`` on ``model``, whatever the admin's own
    ``has_…_permission`` says: an action on a read-only admin (revoke, unlock) is allowed
    to those who may change the model."""
    opts = model._meta
    return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")


# For the type checker the mixin is a ModelAdmin, so its overrides are checked against
# Django's; at run time it is a plain mixin placed before ModelAdmin.
if TYPE_CHECKING:
    _ModelAdminBase = admin.ModelAdmin[Any]
else:
    _ModelAdminBase = object


class ServiceAdminMixin(_ModelAdminBase):
    """For an admin whose writes call a service (``save_model``, ``delete_model``,
    ``save_formset``, actions). The change and delete views already run in one
    transaction; actions are put in one here, so a bulk change is all or nothing. A
    refusal raised by a service rolls that transaction back (the admin's own history
    row too) and comes back as an error message on the page the user came from."""

    def _refused(self, request: HttpRequest, refusal: Refused) -> HttpResponse:
        messages.error(request, refusal.message)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refusal:
            return self._refused(request, refusal)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except Refused as refusal:
            return self._refused(request, refusal)

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().response_action(request, queryset, *args, **kwargs)
        except Refused as refusal:
            return self._refused(request, refusal)
