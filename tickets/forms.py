"""Portal and desk forms: shape checks and field-level messages only. The rules (who may
file what, the severity, the attachment allow-list) live in services and domain code;
the forms call the same functions so the admin sees the message next to the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import lazy
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from helpcenter.models import Service
from severity.choices import Category, Impact, Scope, Severity
from tenants.models import Membership, Organization, RegisteredEmail, RegisteredPhone
from tenants.roles import ROLE_CANNOT_FILE, may_file
from tickets import attachments as uploads
from tickets.filters import RequestFilter
from tickets.intake import TicketDraft, draft_problems
from tickets.models import ContactMethod, Language


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


# Shown by the browser before anything is sent; the script fills in "{name}".
_TOO_LARGE_BEFORE_UPLOAD = _(
    "“{name}” is larger than %(size)s and would be refused. Choose a smaller file or "
    "share a link to it instead."
)


class CategorySelect(forms.RadioSelect):
    """Radio buttons where the categories the member's role may not file are shown but
    disabled, each with the reason (POL-WHO-2), so nobody fills in a form they cannot
    send."""

    option_template_name = "tickets/widgets/category_option.html"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused: dict[str, str] = {}

    def create_option(
        self,
        name: str,
        value: Any,
        label: Any,
        selected: Any,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        reason = self.refused.get(str(value))
        if reason:
            option["attrs"]["disabled"] = True
            option["attrs"]["aria-describedby"] = f"{option['attrs'].get('id', name)}-why"
            option["refused"] = reason
        return option


def lazy_str(make: Callable[[], str]) -> str:
    """A text made when it is rendered, not when the form class is defined."""
    return lazy(make, str)()


def _attachments_help() -> str:
    return str(
        _(
            "Screenshots, logs or documents: up to %(count)d files of at most %(size)s each "
            "(%(types)s)."
        )
    ) % {
        "count": uploads.max_files(),
        "size": uploads.filesizeformat(uploads.max_bytes()),
        "types": uploads.allowed_extensions(),
    }


class AttachmentsField(forms.FileField):
    """Several files in one input; each is judged by name and content (never by the
    browser's content type) so a bad one is named next to the field."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments (optional)"))
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", uploads.accept_attribute())
        # The fields are made when the module loads: the texts and limits are read when a
        # page is rendered, in the reader's language and with the settings of the day.
        # static/js/app.js checks the sizes before the upload starts; the server checks
        # again (check_file) whatever the browser did.
        self.widget.attrs.update(
            {
                "data-max-bytes": lazy_str(lambda: str(uploads.max_bytes())),
                "data-max-files": lazy_str(lambda: str(uploads.max_files())),
                "data-too-large": lazy_str(
                    lambda: (
                        str(_TOO_LARGE_BEFORE_UPLOAD)
                        % {"size": uploads.filesizeformat(uploads.max_bytes())}
                    )
                ),
                "data-too-many": lazy_str(
                    lambda: str(uploads.ERR_TOO_MANY) % {"count": uploads.max_files()}
                ),
            }
        )
        self.help_text = lazy_str(_attachments_help)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > uploads.max_files():
            raise ValidationError(str(uploads.ERR_TOO_MANY % {"count": uploads.max_files()}))
        errors = []
        for upload in files:
            super().clean(upload, initial)
            try:
                uploads.check_file(upload, name=upload.name or "", size=upload.size or 0)
            except uploads.AttachmentRejected as error:
                errors.append(error.message)
        if errors:
            raise ValidationError(errors)
        return files


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    attachments = AttachmentsField()
    # The newest timeline entry the page showed: a reply written before support answered
    # is held (``tickets.collision``) unless the customer sends it anyway.
    seen_event = forms.IntegerField(
        required=False, min_value=0, max_value=2**62, widget=forms.HiddenInput
    )
    send_anyway = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def seen_event_id(self) -> int | None:
        """The Event the reply was written against; None when sent anyway."""
        if self.cleaned_data.get("send_anyway"):
            return None
        seen: int | None = self.cleaned_data.get("seen_event")
        return seen


class SeverityChangeForm(forms.Form):
    """An agent's override (SLA engine): caps still apply in the service."""

    severity = forms.ChoiceField(label=_("New severity"), choices=Severity.choices)
    reason = forms.CharField(
        label=_("Why"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded on the request's timeline and shown to the customer."),
    )


class RequestForm(forms.Form):
    """Contact support (POL-REQ-1..4): what the admin fills in before "Contact me".

    Bound to the acting membership: the categories the role may file (POL-WHO-2) are
    checked here too, so a billing admin sees why next to the category, not a 403."""

    category = forms.ChoiceField(
        label=_("What do you need help with?"),
        choices=Category.choices,
        widget=CategorySelect,
    )
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Service.objects.active(),
        required=False,
        empty_label=_("Choose a product"),
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_("One line, for example “Users cannot send mail to external domains”."),
    )
    description = forms.CharField(
        label=_("Describe the problem"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What happens, since when, what you tried, and any error message."),
    )
    impact = forms.ChoiceField(
        label=_("How badly is the service affected?"),
        choices=Impact.choices,
        widget=forms.RadioSelect,
    )
    scope = forms.ChoiceField(
        label=_("Who is affected?"), choices=Scope.choices, widget=forms.RadioSelect
    )
    business_impact = forms.CharField(
        label=_("Business impact"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "For severity A: what the outage stops your organization from doing. Keep it "
            "current while support works on it."
        ),
    )
    contact_24x7 = forms.CharField(
        label=_("Contact reachable 24x7"),
        required=False,
        max_length=200,
        help_text=_(
            "For severity A: a person and phone number support can reach at any hour, "
            "so the work continues without breaks."
        ),
    )
    contact_phone = PhoneNumberField(label=_("Contact phone"), required=False)
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False, max_length=254)
    preferred_contact = forms.ChoiceField(
        label=_("How should support contact you?"),
        choices=ContactMethod.choices,
        widget=forms.RadioSelect,
        initial=ContactMethod.EMAIL,
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    attachments = AttachmentsField()

    def __init__(
        self, *args: Any, membership: Membership, organization: Organization, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.membership = membership
        self.organization = organization
        # Phone numbers typed without a country code are read in the organization's country.
        region = organization.country.code if organization.country else None
        self.fields["contact_phone"] = PhoneNumberField(
            label=_("Contact phone"),
            required=False,
            region=region or None,
            help_text=_("Numbers without a country code are read as %(country)s numbers.")
            % {"country": organization.country.name}
            if region
            else _("With the country code, for example +48 600 100 200."),
        )
        self.fields["contact_phone"].widget.attrs.update({"autocomplete": "tel"})
        # POL-WHO-2: the categories the role may not file are shown disabled, with why.
        category = self.fields["category"]
        if isinstance(category.widget, CategorySelect):
            category.widget.refused = {
                value: str(
                    ROLE_CANNOT_FILE % {"role": membership.get_role_display(), "category": label}
                )
                for value, label in Category.choices
                if not may_file(membership.role, value)
            }
        self.fields["contact_email"].widget.attrs.update({"autocomplete": "email"})
        if not self.is_bound:
            self.initial.update(self.prefill())

    def prefill(self) -> dict[str, object]:
        """Contact details from the admin's profile, else the registered contacts
        (POL-REQ-1: confirmed, and editable)."""
        user = self.membership.user
        phone = user.phone or (
            RegisteredPhone.objects.filter(organization=self.organization)
            .order_by("created_at", "pk")
            .values_list("number", flat=True)
            .first()
        )
        email = user.email or (
            RegisteredEmail.objects.filter(organization=self.organization)
            .order_by("created_at", "pk")
            .values_list("email", flat=True)
            .first()
        )
        language = (get_language() or "en")[:2]
        categories = [c for c in Category.values if may_file(self.membership.role, c)]
        initial: dict[str, object] = {
            "contact_phone": phone or "",
            "contact_email": email or "",
            "language": language if language in Language.values else Language.EN,
            "preferred_contact": ContactMethod.EMAIL,
        }
        if len(categories) == 1:
            initial["category"] = categories[0]
        return initial

    def draft(self, **channel: Any) -> TicketDraft:
        """The channel-neutral draft of the cleaned answers (``tickets.intake``)."""
        data = self.cleaned_data
        return TicketDraft(
            title=data.get("title") or "",
            description=data.get("description") or "",
            category=data.get("category") or "",
            impact=data.get("impact") or "",
            scope=data.get("scope") or "",
            product=data.get("product"),
            business_impact=data.get("business_impact") or "",
            contact_24x7=data.get("contact_24x7") or "",
            contact_phone=data.get("contact_phone") or None,
            contact_email=data.get("contact_email") or "",
            preferred_contact=data.get("preferred_contact") or ContactMethod.EMAIL,
            language=data.get("language") or Language.EN,
            **channel,
        )

    def clean(self) -> dict[str, Any] | None:
        """The intake rules (role, product, contact), shown next to their fields before
        the request is filed; the service checks the same rules again when it is."""
        data = super().clean()
        phone_refused = "contact_phone" in self.errors
        for problem in draft_problems(self.draft(), role=self.membership.role):
            # A field the form already refused keeps its own message; an unreadable phone
            # number is the only thing to fix about the contact, not "give a contact".
            if problem.field not in self.fields or problem.field in self.errors:
                continue
            if phone_refused and problem.field in ("contact_email", "contact_phone"):
                continue
            self.add_error(problem.field, problem.message)
        return data


class AssessmentForm(forms.Form):
    """The questions a request filed by e-mail could not ask (POL-SEV-1): the same fields
    as the portal's request form; the service checks the intake rules on them."""

    category = RequestForm.declared_fields["category"]
    product = RequestForm.declared_fields["product"]
    impact = RequestForm.declared_fields["impact"]
    scope = RequestForm.declared_fields["scope"]
    business_impact = RequestForm.declared_fields["business_impact"]
    contact_24x7 = RequestForm.declared_fields["contact_24x7"]


class RatingForm(forms.Form):
    """CSAT 1–5 with an optional comment (POL-ROLE-2)."""

    score = forms.TypedChoiceField(
        label=_("How satisfied are you with the support you received?"),
        choices=[
            (5, _("5 – Very satisfied")),
            (4, _("4 – Satisfied")),
            (3, _("3 – Neither satisfied nor dissatisfied")),
            (2, _("2 – Dissatisfied")),
            (1, _("1 – Very dissatisfied")),
        ],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("What is still not working?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ResolveForm(forms.Form):
    reason = forms.CharField(
        label=_("What solved it? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


SORTS: dict[str, tuple[str, ...]] = {
    "-created": ("-created_at", "-pk"),
    "created": ("created_at", "pk"),
    "-updated": ("-updated_at", "-pk"),
    "updated": ("updated_at", "pk"),
    # "A" < "B" < "C": ascending is the most severe first.
    "severity": ("severity", "-created_at", "-pk"),
    "-severity": ("-severity", "-created_at", "-pk"),
}


class RequestFilterForm(forms.Form):
    """The request list's filters and sorting (GET). A bad value is ignored, not an
    error: a stale bookmark still shows the list."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=RequestFilter.base_filters["status"].extra["choices"],
    )
    severity = forms.ChoiceField(
        label=_("Severity"), required=False, choices=[("", _("Any")), *Severity.choices]
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("Any")), *Category.choices]
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("-created", _("Newest first")),
            ("created", _("Oldest first")),
            ("-updated", _("Recently updated")),
            ("updated", _("Least recently updated")),
            ("severity", _("Most severe first")),
            ("-severity", _("Least severe first")),
        ],
    )

    def values(self) -> dict[str, str]:
        """Each filter's valid value or its default."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "status": data.get("status") or "active",
            "severity": data.get("severity") or "",
            "category": data.get("category") or "",
            "sort": data.get("sort") or "-created",
        }


class SurveyCommentForm(forms.Form):
    """The page a rating link of the resolved e-mail opens: the score it recorded, which
    the customer may still change with one click on a star (as in the portal's resolved
    panel), and the comment that makes the rating final. Every star and "Send comment"
    are submit buttons, so the page works without JavaScript."""

    # The recorded score, sent with the comment when no star is pressed.
    score = forms.TypedChoiceField(
        label=_("Your score"),
        # The portal's rating scale, word for word.
        choices=RatingForm.base_fields["score"].choices,  # type: ignore[attr-defined]
        coerce=int,
        widget=forms.HiddenInput,
    )
    # The star pressed, if one was: it replaces the score.
    star = forms.TypedChoiceField(
        label=_("Your score"),
        choices=RatingForm.base_fields["score"].choices,  # type: ignore[attr-defined]
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.HiddenInput,
    )
    comment = forms.CharField(
        label=_("What went well, and what could we do better?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("star") is None and not (data.get("comment") or "").strip():
            # "Send comment" with nothing written; a star alone changes the score.
            self.add_error("comment", self.fields["comment"].error_messages["required"])
        return data

    def chosen_score(self) -> int:
        star: int | None = self.cleaned_data.get("star")
        score: int = self.cleaned_data["score"] if star is None else star
        return score

    def comment_or_none(self) -> str | None:
        """The comment, or None for a star pressed without one (the score changes, the
        rating stays open to a comment)."""
        comment: str = self.cleaned_data.get("comment") or ""
        return comment if comment.strip() else None


class FollowUpForm(forms.Form):
    """Writing again about a closed request: the text of the follow-up request."""

    body = forms.CharField(
        label=_("What do you need help with now?"),
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("A new request is filed with this text, linked to this one."),
    )
