"""Django admin for the help centre: supervisors manage services, incidents, articles
and phone lines here (DESIGN.md "Who uses it").

Everything editable here is written through ``helpcenter.services``, which audits it: an
update moves its incident's status, a published article has its rendered body. Services
(the catalogue) and phone lines are plain reference data with no rule beyond their
fields; their services only add the audit row. The deflection record is evidence and
read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseModelFormSet, ModelForm
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import ReadOnlyAdminMixin, ServiceAdminMixin
from helpcenter.models import (
    Article,
    ArticleImpression,
    HelpSearch,
    Incident,
    IncidentUpdate,
    Service,
    SupportLine,
)
from helpcenter.services import (
    article_delete,
    article_publish,
    article_save,
    article_unpublish,
    incident_post_update,
    incident_save,
    product_delete,
    product_save,
    support_line_delete,
    support_line_save,
)
from tenants.access import signed_in_user


@admin.register(Service)
class ServiceAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "is_active", "position")
    list_editable = ("position", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    # Through helpcenter.services, which audits each creation, change and deletion (the
    # list's editable columns save through save_model too).
    def save_model(self, request: HttpRequest, obj: Service, form: ModelForm, change: bool) -> None:
        product_save(product=obj, actor=signed_in_user(request), now=timezone.now())

    def delete_model(self, request: HttpRequest, obj: Service) -> None:
        product_delete(product=obj, actor=signed_in_user(request), now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        for product in queryset:
            self.delete_model(request, product)


class IncidentUpdateInline(admin.TabularInline):
    """The incident's public timeline. Posted updates are neither edited nor deleted
    afterwards (readers may already have acted on them, and the incident's status came
    from them): a wrong one is corrected by posting another. A new update is posted
    through the service so that it moves the incident to its status."""

    model = IncidentUpdate
    extra = 1
    fields = ("status", "body", "body_pl", "posted_at", "author")
    readonly_fields = ("posted_at", "author")
    ordering = ("-posted_at", "-pk")
    can_delete = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("title", "service", "status", "impact", "started_at", "resolved_at")
    list_filter = ("status", "impact", "service")
    search_fields = ("title", "title_pl", "summary")
    date_hierarchy = "started_at"
    inlines = (IncidentUpdateInline,)
    fieldsets = (
        (None, {"fields": ("service", "impact", "started_at", "status", "resolved_at")}),
        (_("English"), {"fields": ("title", "summary")}),
        (_("Polish"), {"fields": ("title_pl", "summary_pl")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> Any:
        # After creation the status only moves by posting an update (the timeline says why).
        if obj is None:
            return ("resolved_at",)
        return ("status", "resolved_at")

    def save_model(
        self, request: HttpRequest, obj: Incident, form: ModelForm, change: bool
    ) -> None:
        incident_save(incident=obj, now=timezone.now(), actor=signed_in_user(request))

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseModelFormSet, change: bool
    ) -> None:
        if formset.model is not IncidentUpdate:
            super().save_formset(request, form, formset, change)
            return
        updates = formset.save(commit=False)
        for update in updates:
            if update.pk is not None:
                continue
            # A refusal reaches ServiceAdminMixin, which rolls the whole save back.
            incident_post_update(
                incident=form.instance,
                author=signed_in_user(request),
                status=update.status,
                body=update.body,
                body_pl=update.body_pl,
                now=timezone.now(),
            )
        form.instance.refresh_from_db()


@admin.register(IncidentUpdate)
class IncidentUpdateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only list across incidents; updates are posted from their incident's page."""

    list_display = ("incident", "status", "posted_at", "author")
    list_filter = ("status", "incident__service")
    search_fields = ("body", "body_pl", "incident__title")
    list_select_related = ("incident", "author")


@admin.register(Article)
class ArticleAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("title", "language", "is_published", "updated_at", "author")
    list_filter = ("language", "is_published", "services")
    search_fields = ("title", "slug", "body")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("services",)
    readonly_fields = ("author", "created_at", "updated_at")
    fields = (
        "title",
        "slug",
        "language",
        "services",
        "is_published",
        "body",
        "author",
        "created_at",
        "updated_at",
    )
    actions = ("publish", "unpublish")

    def save_model(self, request: HttpRequest, obj: Article, form: ModelForm, change: bool) -> None:
        # The services are set by the service too, so that the edit is one audit row;
        # the form's own save_m2m afterwards finds them already set.
        article_save(
            article=obj,
            author=signed_in_user(request),
            now=timezone.now(),
            services=form.cleaned_data.get("services"),
        )

    def delete_model(self, request: HttpRequest, obj: Article) -> None:
        article_delete(article=obj, actor=signed_in_user(request), now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        for article in queryset:
            self.delete_model(request, article)

    @admin.action(description=_("Publish the selected articles"), permissions=("change",))
    def publish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        now = timezone.now()
        published = 0
        for article in queryset:
            if article_publish(article=article, now=now, actor=signed_in_user(request)):
                self.log_change(request, article, "Published.")
                published += 1
        self.message_user(
            request,
            ngettext("%(count)d article published.", "%(count)d articles published.", published)
            % {"count": published},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unpublish the selected articles"), permissions=("change",))
    def unpublish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        now = timezone.now()
        withdrawn = 0
        for article in queryset:
            if article_unpublish(article=article, now=now, actor=signed_in_user(request)):
                self.log_change(request, article, "Unpublished.")
                withdrawn += 1
        self.message_user(
            request,
            ngettext("%(count)d article unpublished.", "%(count)d articles unpublished.", withdrawn)
            % {"count": withdrawn},
            messages.SUCCESS,
        )


@admin.register(SupportLine)
class SupportLineAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "country", "kind", "number", "label", "position", "is_active")
    list_editable = ("position", "is_active")
    list_filter = ("kind", "is_active", "country")
    search_fields = ("number", "label", "country")

    # Through helpcenter.services, which audits each creation, change and deletion (the
    # list's editable columns save through save_model too).
    def save_model(
        self, request: HttpRequest, obj: SupportLine, form: ModelForm, change: bool
    ) -> None:
        support_line_save(line=obj, actor=signed_in_user(request), now=timezone.now())

    def delete_model(self, request: HttpRequest, obj: SupportLine) -> None:
        support_line_delete(line=obj, actor=signed_in_user(request), now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SupportLine]) -> None:
        for line in queryset:
            self.delete_model(request, line)


class ImpressionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ArticleImpression
    extra = 0
    fields = ("article", "position", "shown_at", "opened_at")


@admin.register(HelpSearch)
class HelpSearchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The deflection record is evidence for reports: view only."""

    list_display = ("query", "organization", "user", "language", "result_count", "searched_at")
    list_filter = ("language", "source", ("request", admin.EmptyFieldListFilter))
    search_fields = ("query", "organization__name", "user__email")
    list_select_related = ("organization", "user")
    date_hierarchy = "searched_at"
    inlines = (ImpressionInline,)
