"""Django admin for machine credentials: supervisors issue agent tokens here (the token is
shown once, in the confirmation message) and can revoke any credential."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.api_keys import agent_token_create
from tenants.credentials import AgentToken, ApiKey
from tenants.models import User


@admin.action(description=_("Revoke the selected credentials"))
def revoke(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


class AgentTokenForm(forms.ModelForm):
    user = forms.ModelChoiceField(queryset=User.objects.agents(), label=_("Agent"))

    class Meta:
        model = AgentToken
        fields = ("user", "name")


@admin.register(AgentToken)
class AgentTokenAdmin(admin.ModelAdmin):
    form = AgentTokenForm
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__email")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = (revoke,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "user", "name") if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("user", "name") if obj is None else ("user", "name", *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: AgentToken, form: Any, change: bool) -> None:
        if change:
            return  # tokens are not edited: revoke and issue a new one
        issued = agent_token_create(user=obj.user, name=obj.name, now=timezone.now())
        obj.pk = issued.credential.pk
        messages.warning(
            request,
            _("The token for %(email)s, shown only now: %(token)s")
            % {"email": obj.user.email, "token": issued.secret},
        )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created by the organization's global admins in the portal; staff can see
    and revoke them."""

    list_display = ("name", "organization", "role", "prefix", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "role")
    search_fields = ("name", "prefix", "organization__name", "organization__slug")
    actions = (revoke,)
    readonly_fields = (
        "organization", "name", "role", "prefix", "created_by", "created_at", "last_used_at",
        "revoked_at",
    )  # fmt: skip
    exclude = ("secret_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
