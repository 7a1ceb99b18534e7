"""The registered contacts in the customer portal (``/portal/<org>/contacts/…``).

Thin views: access (``tenant_view`` plus :func:`_contact_or_404`) → form → service →
render. Plain users get the "ask your admin" page from ``tenant_view``; billing and service
support admins see the list read-only, values masked, and any change page refuses them
with a clear message (POL-WHO-2 default: a global-admin task).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core import moments
from core.refusals import into_form
from tenants import services
from tenants.access import TenantRequest, tenant_view
from tenants.forms import EmailContactForm, PhoneContactForm, RemoveContactForm
from tenants.models import CONTACT_COOL_OFF, RegisteredEmail, RegisteredPhone
from tenants.services import (
    ERR_NOT_GLOBAL_ADMIN,
    Contact,
    ContactError,
    ContactKind,
    contact_model,
    contact_pk,
    is_usable,
    masked,
    may_manage_contacts,
    require_contact_manager,
    usable_contacts_count,
)


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One registered contact as the page shows it."""

    kind: str
    pk: int
    value: str  # in full for global admins, masked for other admins
    label: str
    created_at: datetime
    active_from: datetime
    usable: bool


def _row(contact: Contact, *, now: datetime, full: bool) -> ContactRow:
    if isinstance(contact, RegisteredPhone):
        kind, value = ContactKind.PHONE, contact.number.as_international
    else:
        kind, value = ContactKind.EMAIL, contact.email
    return ContactRow(
        kind=kind.value,
        pk=contact.pk,
        value=value if full else masked(contact),
        label=contact.label,
        created_at=contact.created_at,
        active_from=contact.active_from,
        usable=is_usable(contact, now),
    )


def _contact_or_404(request: TenantRequest, kind: str, contact_id: int) -> Contact:
    """The organization's registered contact of that kind, or 404 (another tenant's id,
    an unknown kind, or a contact already removed)."""
    model = contact_model(kind)
    pk = contact_pk(contact_id)
    if model is None or pk is None:
        raise Http404
    contact = model.objects.filter(organization=request.organization, pk=pk).first()
    if contact is None:
        raise Http404
    return contact


def _local(moment: datetime) -> str:
    # tenant_view activated the reader's zone for this request; named in words.
    return moments.format_moment(moment)


def _refused(request: TenantRequest, template: str, context: dict[str, object]) -> HttpResponse:
    """The page for an admin who is not a global admin; a POST is recorded as refused."""
    if request.method == "POST":
        with contextlib.suppress(ContactError):
            require_contact_manager(
                organization=request.organization,
                actor_membership=request.membership,
                now=timezone.now(),
            )
    context.update(
        {"organization": request.organization, "forbidden": True, "error": ERR_NOT_GLOBAL_ADMIN}
    )
    return render(request, template, context, status=403)


@tenant_view(admin_only=True)
@require_GET
def contacts(request: TenantRequest) -> HttpResponse:
    """The registered phone numbers and e-mail addresses, each with its status."""
    now = timezone.now()
    organization = request.organization
    full = may_manage_contacts(request.membership)
    phones = [
        _row(c, now=now, full=full)
        for c in RegisteredPhone.objects.filter(organization=organization).order_by(
            "created_at", "pk"
        )
    ]
    emails = [
        _row(c, now=now, full=full)
        for c in RegisteredEmail.objects.filter(organization=organization).order_by(
            "created_at", "pk"
        )
    ]
    return render(
        request,
        "portal/contacts.html",
        {
            "organization": organization,
            "can_manage": full,
            "phones": phones,
            "emails": emails,
            "usable_count": sum(row.usable for row in phones + emails),
        },
    )


def _add(request: TenantRequest, kind: ContactKind) -> HttpResponse:
    now = timezone.now()
    organization = request.organization
    context: dict[str, object] = {"kind": kind.value, "cool_off_ends": now + CONTACT_COOL_OFF}
    if not may_manage_contacts(request.membership):
        return _refused(request, "portal/contacts_add.html", context)
    form_class = PhoneContactForm if kind == ContactKind.PHONE else EmailContactForm
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with into_form(form):
            if kind == ContactKind.PHONE:
                contact: Contact = services.contact_phone_add(
                    organization=organization,
                    actor_membership=request.membership,
                    number=data["number"],
                    label=data["label"],
                    password=data["password"],
                    now=now,
                )
            else:
                contact = services.contact_email_add(
                    organization=organization,
                    actor_membership=request.membership,
                    email=data["email"],
                    label=data["label"],
                    password=data["password"],
                    now=now,
                )
            row = _row(contact, now=now, full=True)
            messages.success(
                request,
                _(
                    "%(value)s is registered. It receives verification codes from %(when)s, "
                    "after the 48-hour cool-off. Your global admins and registered e-mail "
                    "addresses are told of the change."
                )
                % {"value": row.value, "when": _local(row.active_from)},
            )
            return redirect("portal:contacts", org=organization.slug)
    context.update({"organization": organization, "form": form})
    return render(request, "portal/contacts_add.html", context)


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def contact_phone_add(request: TenantRequest) -> HttpResponse:
    return _add(request, ContactKind.PHONE)


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def contact_email_add(request: TenantRequest) -> HttpResponse:
    return _add(request, ContactKind.EMAIL)


@tenant_view(admin_only=True)
@require_http_methods(["GET", "POST"])
def contact_remove(request: TenantRequest, kind: str, contact: int) -> HttpResponse:
    """Confirm with the password, then remove; warns when no usable contact would remain."""
    registered = _contact_or_404(request, kind, contact)
    now = timezone.now()
    organization = request.organization
    full = may_manage_contacts(request.membership)
    row = _row(registered, now=now, full=full)
    context: dict[str, object] = {"row": row, "kind": row.kind}
    if not full:
        return _refused(request, "portal/contacts_remove.html", context)
    form = RemoveContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with into_form(form):
            services.contact_remove(
                organization=organization,
                actor_membership=request.membership,
                kind=row.kind,
                contact_id=row.pk,
                password=form.cleaned_data["password"],
                now=now,
            )
            messages.success(
                request,
                _(
                    "%(value)s was removed from the registered contacts. Your global admins "
                    "and registered e-mail addresses are told of the change."
                )
                % {"value": row.value},
            )
            return redirect("portal:contacts", org=organization.slug)
    remaining = (
        RegisteredPhone.objects.filter(organization=organization).count()
        + RegisteredEmail.objects.filter(organization=organization).count()
        - 1
    )
    remaining_usable = usable_contacts_count(organization, now) - int(row.usable)
    context.update(
        {
            "organization": organization,
            "form": form,
            "leaves_none": remaining <= 0,
            "leaves_none_usable": remaining_usable <= 0,
        }
    )
    return render(request, "portal/contacts_remove.html", context)
