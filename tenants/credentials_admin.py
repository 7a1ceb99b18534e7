"""Django admin for machine credentials: supervisors issue agent tokens here (the token is
shown once, in the confirmation message) and can revoke any credential. Issuing and
revoking go through ``tenants.api_keys``, as in the portal; a credential is never edited
(revoke it and issue a new one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdminMixin, ServiceAdminMixin, has_model_permission
from tenants.access import signed_in_user
from tenants.api_keys import agent_token_create, agent_token_revoke, api_key_revoke
from tenants.credentials import AgentToken, ApiKey
from tenants.models import User


class RevokeActionMixin(ServiceAdminMixin):
    """The "Revoke" action: each credential through its service, with a line in the
    admin's history saying who revoked it."""

    actions = ("revoke",)

    def revoke_one(self, credential: Any, now: datetime, actor: User) -> None:
        raise NotImplementedError

    @admin.action(description=_("Revoke the selected credentials"), permissions=("revoke",))
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        revoked = 0
        for credential in queryset.filter(revoked_at__isnull=True):
            self.revoke_one(credential, now, signed_in_user(request))
            self.log_change(request, credential, "Revoked.")
            revoked += 1
        self.message_user(
            request,
            ngettext("%(count)d credential revoked.", "%(count)d credentials revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        # The admin itself is view-only; revoking is for those who may change the model.
        return has_model_permission(request, self.model, "change")


class AgentTokenForm(forms.ModelForm):
    user = forms.ModelChoiceField(queryset=User.objects.agents(), label=_("Agent"))

    class Meta:
        model = AgentToken
        fields = ("user", "name")


@admin.register(AgentToken)
class AgentTokenAdmin(RevokeActionMixin, admin.ModelAdmin):
    form = AgentTokenForm
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__email")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")

    def revoke_one(self, credential: AgentToken, now: datetime, actor: User) -> None:
        agent_token_revoke(token=credential, now=now, actor=actor)

    # Issued on the add page, then only revoked: a deleted token would leave no trace.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "user", "name") if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("user", "name") if obj is None else ("user", "name", *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: AgentToken, form: Any, change: bool) -> None:
        issued = agent_token_create(
            user=obj.user, name=obj.name, now=timezone.now(), actor=signed_in_user(request)
        )
        obj.pk = issued.credential.pk
        messages.warning(
            request,
            _("The token for %(email)s, shown only now: %(token)s")
            % {"email": obj.user.email, "token": issued.secret},
        )


@admin.register(ApiKey)
class ApiKeyAdmin(RevokeActionMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Keys are created by the organization's global admins in the portal; staff can see
    and revoke them."""

    list_display = ("name", "organization", "role", "prefix", "last_used_at", "revoked_at")
    list_filter = ("revoked_at", "role")
    search_fields = ("name", "prefix", "organization__name", "organization__slug")
    readonly_fields = (
        "organization", "name", "role", "prefix", "created_by", "created_at", "last_used_at",
        "revoked_at",
    )  # fmt: skip
    exclude = ("secret_hash",)

    def revoke_one(self, credential: ApiKey, now: datetime, actor: User) -> None:
        api_key_revoke(key=credential, now=now, actor=actor)
