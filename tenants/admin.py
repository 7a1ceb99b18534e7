"""Django admin for accounts and tenants: provider staff only (DESIGN.md, Tenancy).

Memberships and registered contacts are written through ``tenants.services``, as in the
portal: a role change or a removal leaves its ``MembershipChange``, a contact added or
removed leaves its ``ContactChange``, starts its 48-hour cool-off and tells the
organization's global admins (POL-PIN-1, POLICY.md PIN defaults). A contact's
``active_from`` is never editable here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.forms import BaseModelFormSet, ModelForm
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdminMixin, ServiceAdminMixin
from core.refusals import into_form
from tenants import services
from tenants.access import signed_in_user
from tenants.models import (
    ContactChange,
    Membership,
    MembershipChange,
    Organization,
    Partner,
    RegisteredEmail,
    RegisteredPhone,
    Role,
    User,
)
from tenants.retention import retention_set

# --- Users --------------------------------------------------------------------------------


class _LowercaseEmailMixin:
    """The manager stores e-mail addresses in lower case; the admin forms do the same, so
    ``Jane@Contoso.example`` cannot become a second account beside ``jane@contoso.example``."""

    cleaned_data: dict[str, object]

    def clean_email(self) -> str:
        return User.objects.normalize_email(str(self.cleaned_data["email"])).lower()


class UserCreationForm(_LowercaseEmailMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)
        field_classes = {}


class UserChangeAdminForm(_LowercaseEmailMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"
        field_classes = {}


# --- Memberships, through the members' services ---------------------------------------------

ERR_MEMBER_NOT_MOVED = _(
    "A membership is not moved to another person or organization: remove it and add a new one."
)


class MembershipRowForm(forms.ModelForm):
    """A membership row of an inline: only its role changes once it exists."""

    class Meta:
        model = Membership
        fields = ("user", "organization", "role")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if self.instance.pk is not None:
            for name in ("user", "organization"):
                if name in self.changed_data:
                    self.add_error(name, ERR_MEMBER_NOT_MOVED)
        return cleaned


def _adopt(obj: Model, saved: Model) -> None:
    """Make the admin's unsaved instance the row a service created, so its history entry
    and the page that follows name the real object."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


def save_membership_rows(request: HttpRequest, formset: BaseModelFormSet) -> None:
    """An inline's new, changed and deleted memberships, each through its service. New
    members and promotions come first, so a submit that hands the global admin role over
    never finds the organization without one halfway."""
    staff = signed_in_user(request)
    now = timezone.now()
    formset.save(commit=False)  # fills new_objects, changed_objects, deleted_objects
    for member in formset.new_objects:
        _adopt(
            member,
            services.membership_add_by_staff(
                organization=member.organization,
                user=member.user,
                role=member.role,
                staff=staff,
                now=now,
            ),
        )
    changed = [member for member, fields in formset.changed_objects if "role" in fields]
    for member in sorted(changed, key=lambda member: member.role != Role.GLOBAL_ADMIN):
        services.membership_change_role_by_staff(
            member=member, role=member.role, staff=staff, now=now
        )
    for member in formset.deleted_objects:
        services.membership_remove_by_staff(member=member, staff=staff, now=now)


class UserMembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipRowForm
    fk_name = "user"
    extra = 0
    fields = ("organization", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("organization",)
    verbose_name_plural = _("organization memberships")


@admin.register(User)
class UserAdmin(ServiceAdminMixin, BaseUserAdmin):
    """Django's user admin adapted to sign-in by e-mail (no username)."""

    form = UserChangeAdminForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "phone", "language", "time_zone")}),
        (
            _("Provider staff and permissions"),
            {"fields": ("staff_role", "is_staff", "is_active", "is_superuser", "groups")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    list_display = ("email", "full_name", "staff_role", "is_staff", "is_active", "is_superuser")
    list_filter = ("staff_role", "is_staff", "is_active", "is_superuser", "groups")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    filter_horizontal = ("groups",)
    inlines = (UserMembershipInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        readonly = list(super().get_readonly_fields(request, obj))
        # Supervisors may manage accounts, but only a superuser makes superusers or
        # changes group membership: otherwise "change user" is a way to every permission.
        if not request.user.is_superuser:
            readonly += ["is_superuser", "groups"]
        return readonly

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[type]:
        # The add page only takes e-mail and password (Django's two-step user creation).
        return list(self.inlines) if obj is not None else []

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseModelFormSet, change: bool
    ) -> None:
        if formset.model is Membership:
            save_membership_rows(request, formset)
        else:
            super().save_formset(request, form, formset, change)

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        # After the groups are saved: what the account may do is known only now. The
        # add page sets no access (Django's two-step user creation).
        super().save_related(request, form, formsets, change)
        if not change:
            return
        # Only what the form could change (a supervisor's form shows no groups).
        before = {
            name: form.initial.get(name) for name in services.ACCESS_FIELDS if name in form.fields
        }
        user = form.instance
        after = {name: getattr(user, name) for name in services.ACCESS_FIELDS if name != "groups"}
        after["groups"] = list(user.groups.values_list("pk", flat=True))
        services.account_access_record(
            user=user, actor=signed_in_user(request), before=before, after=after,
            now=timezone.now(),
        )  # fmt: skip

    # Deleting an account removes its memberships through the members' rule (never an
    # organization's last global admin, an audit row each) rather than by cascade.
    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.user_delete_by_staff(user=obj, staff=signed_in_user(request), now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            self.delete_model(request, user)


# --- Partners and organizations -------------------------------------------------------------


class HasCustomersFilter(admin.SimpleListFilter):
    title = _("has customers")
    parameter_name = "has_customers"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Partner]) -> QuerySet[Partner]:
        has_customers = Exists(Organization.objects.filter(partner=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(has_customers)
        if self.value() == "no":
            return queryset.filter(~has_customers)
        return queryset


@admin.register(Partner)
class PartnerAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "phone", "email", "url")
    list_filter = (HasCustomersFilter,)
    search_fields = ("name", "email")

    # Through tenants.services, which audits each creation, change and deletion.
    def save_model(self, request: HttpRequest, obj: Partner, form: ModelForm, change: bool) -> None:
        services.partner_save(partner=obj, actor=signed_in_user(request), now=timezone.now())

    def delete_model(self, request: HttpRequest, obj: Partner) -> None:
        services.partner_delete(partner=obj, actor=signed_in_user(request), now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Partner]) -> None:
        for partner in queryset:
            self.delete_model(request, partner)


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipRowForm
    fk_name = "organization"
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


# The registered contacts are listed with their organization; each is added or removed on
# its own page, where the service runs (audit row, notice, cool-off).
class RegisteredPhoneInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RegisteredPhone
    extra = 0
    fields = ("number", "label", "created_at", "active_from")
    show_change_link = True


class RegisteredEmailInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RegisteredEmail
    extra = 0
    fields = ("email", "label", "created_at", "active_from")
    show_change_link = True


@admin.register(Organization)
class OrganizationAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "contract", "country", "time_zone", "partner", "created_at")
    list_filter = ("contract", "country", "partner")
    list_select_related = ("partner",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("partner",)
    readonly_fields = ("created_at",)
    inlines = (MembershipInline, RegisteredPhoneInline, RegisteredEmailInline)

    def save_model(
        self, request: HttpRequest, obj: Organization, form: ModelForm, change: bool
    ) -> None:
        # The retention period goes through its service (audit row); the rest as usual.
        days = obj.retention_days
        if "retention_days" in form.changed_data:
            obj.retention_days = form.initial.get("retention_days")
        # Every other setting changed here leaves one audit row (issue 17).
        settings_changed = [name for name in form.changed_data if name != "retention_days"]
        before = {name: form.initial.get(name) for name in settings_changed} if change else {}
        super().save_model(request, obj, form, change)
        services.organization_settings_record(
            organization=obj,
            actor=signed_in_user(request),
            before=before,
            after={name: form.cleaned_data.get(name) for name in settings_changed},
            now=timezone.now(),
        )
        if obj.retention_days != days:
            retention_set(
                organization=obj, days=days, actor=signed_in_user(request), now=timezone.now()
            )

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseModelFormSet, change: bool
    ) -> None:
        if formset.model is Membership:
            save_membership_rows(request, formset)
        else:
            super().save_formset(request, form, formset, change)

    def delete_model(self, request: HttpRequest, obj: Organization) -> None:
        services.organization_delete_by_staff(
            organization=obj, staff=signed_in_user(request), now=timezone.now()
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        for organization in queryset:
            self.delete_model(request, organization)


@admin.register(Membership)
class MembershipAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Members and roles, through the same rules as the portal's members page: never an
    organization without a global admin, every role change and removal audited."""

    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role", "organization")
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "user__full_name", "organization__name")
    autocomplete_fields = ("user", "organization")
    readonly_fields = ("created_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> Any:
        if obj is None:
            return self.readonly_fields
        return ("user", "organization", *self.readonly_fields)

    def save_model(
        self, request: HttpRequest, obj: Membership, form: ModelForm, change: bool
    ) -> None:
        staff = signed_in_user(request)
        now = timezone.now()
        if not change:
            _adopt(
                obj,
                services.membership_add_by_staff(
                    organization=obj.organization,
                    user=obj.user,
                    role=obj.role,
                    staff=staff,
                    now=now,
                ),
            )
        elif "role" in form.changed_data:
            services.membership_change_role_by_staff(
                member=obj, role=obj.role, staff=staff, now=now
            )

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_remove_by_staff(
            member=obj,
            staff=signed_in_user(request),
            now=timezone.now(),
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for member in queryset.select_related("organization", "user"):
            self.delete_model(request, member)


# --- Registered contacts (POL-PIN-1, POL-PIN-3) ------------------------------------------


class CoolOffFilter(admin.SimpleListFilter):
    """Whether a contact may receive PIN codes yet (the 48-hour cool-off)."""

    title = _("receives codes")
    parameter_name = "receives_codes"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("In cool-off"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(active_from__lte=now)
        if self.value() == "no":
            return queryset.filter(active_from__gt=now)
        return queryset


class RegisteredPhoneForm(forms.ModelForm):
    # Typed as text: the service reads it with the organization's country as the default
    # region, as the portal does.
    number = forms.CharField(
        label=_("phone number"),
        help_text=_("With the country code, or as dialled in the organization's country."),
    )

    class Meta:
        model = RegisteredPhone
        fields = ("organization", "number", "label")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        organization = cleaned.get("organization")
        if organization is not None and "number" in cleaned:
            with into_form(self, field="number"):
                cleaned["number"] = services.phone_to_register(
                    organization=organization, number=cleaned["number"]
                )
        return cleaned


class RegisteredEmailForm(forms.ModelForm):
    class Meta:
        model = RegisteredEmail
        fields = ("organization", "email", "label")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        organization = cleaned.get("organization")
        if organization is not None and "email" in cleaned:
            with into_form(self, field="email"):
                cleaned["email"] = services.email_to_register(
                    organization=organization, email=cleaned["email"]
                )
        return cleaned


class RegisteredContactAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Added and removed through the services (audit row, notice to the organization's
    global admins, 48-hour cool-off); never edited, so ``active_from`` cannot be moved to
    skip the cool-off. A wrong contact is removed and the right one added."""

    value_field: str
    list_filter = (CoolOffFilter, "organization")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        if obj is None:
            return ("organization", self.value_field, "label")
        return ("organization", self.value_field, "label", "created_at", "active_from")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: services.Contact) -> None:
        services.contact_remove_by_staff(
            contact=obj,
            staff=signed_in_user(request),
            now=timezone.now(),
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for contact in queryset.select_related("organization"):
            self.delete_model(request, contact)


@admin.register(RegisteredPhone)
class RegisteredPhoneAdmin(RegisteredContactAdmin):
    form = RegisteredPhoneForm
    value_field = "number"
    list_display = ("number", "organization", "label", "created_at", "active_from")
    search_fields = ("number", "label", "organization__name")

    def save_model(
        self, request: HttpRequest, obj: RegisteredPhone, form: ModelForm, change: bool
    ) -> None:
        phone = services.contact_phone_add_by_staff(
            organization=obj.organization,
            staff=signed_in_user(request),
            number=form.cleaned_data["number"].as_e164,
            label=obj.label,
            now=timezone.now(),
        )
        _adopt(obj, phone)


@admin.register(RegisteredEmail)
class RegisteredEmailAdmin(RegisteredContactAdmin):
    form = RegisteredEmailForm
    value_field = "email"
    list_display = ("email", "organization", "label", "created_at", "active_from")
    search_fields = ("email", "label", "organization__name")

    def save_model(
        self, request: HttpRequest, obj: RegisteredEmail, form: ModelForm, change: bool
    ) -> None:
        registered = services.contact_email_add_by_staff(
            organization=obj.organization,
            staff=signed_in_user(request),
            email=obj.email,
            label=obj.label,
            now=timezone.now(),
        )
        _adopt(obj, registered)


@admin.register(ContactChange)
class ContactChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail of registered-contact changes: read-only."""

    list_display = ("created_at", "organization", "action", "masked_value", "actor_label", "reason")
    list_filter = ("action", "reason", "organization")
    search_fields = ("organization__name", "actor_label", "masked_value")
    date_hierarchy = "created_at"


@admin.register(MembershipChange)
class MembershipChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail of member and role changes, from the portal and this admin."""

    list_display = ("created_at", "organization", "action", "member_label", "role_before",
                    "role_after", "actor_label")  # fmt: skip
    list_filter = ("action", "organization")
    search_fields = ("organization__name", "actor_label", "member_label")
    date_hierarchy = "created_at"


# API keys and agent tokens have their own admin module.
from tenants import credentials_admin  # noqa: E402, F401
