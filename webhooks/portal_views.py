"""Organization settings → webhooks (``/portal/<org>/settings/webhooks/…``): register an
endpoint (its secret shown once), switch it on or off, delete it, read its delivery log
and re-send a delivery. Global admins only (POL-WHO-2 default)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from tenants.access import TenantRequest, tenant_view
from tenants.api_key_views import refused
from tenants.models import Role
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEventType

MAX_ID = 2**63 - 1
ERR_UNKNOWN_ACTION = gettext_lazy("Unknown action: nothing was changed.")


class EndpointForm(forms.Form):
    url = forms.URLField(
        label=gettext_lazy("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("Where to POST the events: an http(s) URL on a public address."),
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[WebhookEventType.TICKET_CREATED, WebhookEventType.TICKET_RESOLVED],
    )


# The endpoint page's on/off switch: its forms say which way.
SWITCH = {"on": True, "off": False}


def _endpoint_or_404(request: TenantRequest, endpoint_id: int) -> WebhookEndpoint:
    if not 0 < endpoint_id <= MAX_ID:
        raise Http404
    endpoint = WebhookEndpoint.objects.for_org(request.organization).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise Http404
    return endpoint


def _is_global_admin(request: TenantRequest) -> bool:
    return request.membership.role == Role.GLOBAL_ADMIN


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def endpoints(request: TenantRequest) -> HttpResponse:
    if not _is_global_admin(request):
        return refused(request, _("Webhooks"))
    form = EndpointForm(request.POST or None)
    registered = None
    if request.method == "POST" and form.is_valid():
        try:
            registered = services.endpoint_create(
                organization=request.organization,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
                created_by=request.user,
                now=timezone.now(),
            )
        except services.WebhookError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            form = EndpointForm()
    return render(
        request,
        "portal/settings_webhooks.html",
        {
            "organization": request.organization,
            "form": form,
            "registered": registered,
            "endpoints": WebhookEndpoint.objects.for_org(request.organization),
            "event_labels": dict(WebhookEventType.choices),
        },
    )


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def endpoint_detail(request: TenantRequest, endpoint: int) -> HttpResponse:
    """The delivery log; POST switches the endpoint on/off or deletes it."""
    hook = _endpoint_or_404(request, endpoint)
    if not _is_global_admin(request):
        return refused(request, _("Webhooks"))
    status = 200
    action = request.POST.get("action", "") if request.method == "POST" else None
    if action == "delete":
        services.endpoint_delete(endpoint=hook, actor=request.user)
        messages.success(request, _("The webhook endpoint is deleted."))
        return redirect("portal:settings_webhooks", org=request.organization.slug)
    switch = SWITCH.get(request.POST.get("active", "")) if action == "" else None
    if action is not None and switch is None:
        # A delete, or a switch that says which way ("on" or "off"): anything else, an
        # empty or forged form included, changes nothing.
        messages.error(request, ERR_UNKNOWN_ACTION)
        status = 400
    elif switch is not None:
        services.endpoint_set_active(endpoint=hook, active=switch, actor=request.user)
        messages.success(
            request,
            _("The endpoint is switched on.")
            if hook.is_active
            else _("The endpoint is switched off."),
        )
        return redirect("portal:settings_webhook", org=request.organization.slug, endpoint=hook.pk)
    return render(
        request,
        "portal/settings_webhook_detail.html",
        {
            "organization": request.organization,
            "endpoint": hook,
            "deliveries": hook.deliveries.order_by("-created_at", "-pk")[:100],
            "event_labels": dict(WebhookEventType.choices),
        },
        status=status,
    )


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def delivery_resend(request: TenantRequest, endpoint: int, delivery: int) -> HttpResponse:
    hook = _endpoint_or_404(request, endpoint)
    if not 0 < delivery <= MAX_ID:
        raise Http404
    sent = WebhookDelivery.objects.filter(endpoint=hook, pk=delivery).select_related("endpoint")
    record = sent.first()
    if record is None:
        raise Http404
    if not _is_global_admin(request):
        return refused(request, _("Webhooks"))
    if request.method == "POST":
        try:
            services.delivery_resend(delivery=record, now=timezone.now(), actor=request.user)
        except services.WebhookError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The delivery is queued to be sent again."))
        return redirect("portal:settings_webhook", org=request.organization.slug, endpoint=hook.pk)
    return render(
        request,
        "portal/settings_webhook_resend.html",
        {"organization": request.organization, "endpoint": hook, "delivery": record},
    )
