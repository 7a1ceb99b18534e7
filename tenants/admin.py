"""Django admin for accounts and tenants: provider staff only (DESIGN.md, Tenancy)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import (
    ContactChange,
    Membership,
    MembershipChange,
    Organization,
    Partner,
    RegisteredEmail,
    RegisteredPhone,
    User,
)

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


class UserMembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ("organization", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("organization",)
    verbose_name_plural = _("organization memberships")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Django's user admin adapted to sign-in by e-mail (no username)."""

    form = UserChangeAdminForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("full_name", "phone", "language")}),
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


# --- Partners and organizations -------------------------------------------------------------


class HasCustomersFilter(admin.SimpleListFilter):
    title = _("has customers")
    parameter_name = "has_customers"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Partner]) -> QuerySet[Partner]:
        has_customers = Exists(Organization.objects.filter(partner=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(has_customers)
        if self.value() == "no":
            return queryset.filter(~has_customers)
        return queryset


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "phone", "email", "url")
    list_filter = (HasCustomersFilter,)
    search_fields = ("name", "email")


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "organization"
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


class RegisteredPhoneInline(admin.TabularInline):
    model = RegisteredPhone
    extra = 0
    fields = ("number", "label", "created_at", "active_from")


class RegisteredEmailInline(admin.TabularInline):
    model = RegisteredEmail
    extra = 0
    fields = ("email", "label", "created_at", "active_from")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "contract", "country", "time_zone", "partner", "created_at")
    list_filter = ("contract", "country", "partner")
    list_select_related = ("partner",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("partner",)
    readonly_fields = ("created_at",)
    inlines = (MembershipInline, RegisteredPhoneInline, RegisteredEmailInline)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role", "organization")
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "user__full_name", "organization__name")
    autocomplete_fields = ("user", "organization")
    readonly_fields = ("created_at",)


# --- Registered contacts (POL-PIN-1, POL-PIN-3) ------------------------------------------


class CoolOffFilter(admin.SimpleListFilter):
    """Whether a contact may receive PIN codes yet (the 48-hour cool-off)."""

    title = _("receives codes")
    parameter_name = "receives_codes"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", _("Yes")), ("no", _("In cool-off"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(active_from__lte=now)
        if self.value() == "no":
            return queryset.filter(active_from__gt=now)
        return queryset


@admin.register(RegisteredPhone)
class RegisteredPhoneAdmin(admin.ModelAdmin):
    list_display = ("number", "organization", "label", "created_at", "active_from")
    list_filter = (CoolOffFilter, "organization")
    list_select_related = ("organization",)
    search_fields = ("number", "label", "organization__name")
    autocomplete_fields = ("organization",)


@admin.register(RegisteredEmail)
class RegisteredEmailAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "label", "created_at", "active_from")
    list_filter = (CoolOffFilter, "organization")
    list_select_related = ("organization",)
    search_fields = ("email", "label", "organization__name")
    autocomplete_fields = ("organization",)


@admin.register(ContactChange)
class ContactChangeAdmin(admin.ModelAdmin):
    """The audit trail of registered-contact changes: read-only."""

    list_display = ("created_at", "organization", "action", "masked_value", "actor_label", "reason")
    list_filter = ("action", "reason", "organization")
    search_fields = ("organization__name", "actor_label", "masked_value")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(MembershipChange)
class MembershipChangeAdmin(admin.ModelAdmin):
    """The audit trail of member and role changes made in the portal: read-only."""

    list_display = ("created_at", "organization", "action", "member_label", "role_before",
                    "role_after", "actor_label")  # fmt: skip
    list_filter = ("action", "organization")
    search_fields = ("organization__name", "actor_label", "member_label")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# API keys and agent tokens have their own admin module.
from tenants import credentials_admin  # noqa: E402, F401
