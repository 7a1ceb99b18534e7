"""Every API error is JSON with a machine code, a human message and field messages.

``{"code": "invalid", "message": "…", "fields": {"contact_phone": ["…"]}}``

Bad JSON, wrong types, unknown fields, oversized bodies, refused transitions and
throttling all end here as a 4xx in this shape; none of them may reach a 500. A
``core.refusals.Refused`` raised by any service is mapped here, once: its code, its
message under its field, and the status for its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from core.refusals import Refused

MSG_INVALID = gettext_lazy("Some fields are not valid.")
MSG_UNKNOWN_FIELD = gettext_lazy("Unknown field.")
MSG_TOO_LARGE = gettext_lazy("The request body is too large.")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = MSG_TOO_LARGE
    default_code = "too_large"


class ApiError(exceptions.APIException):
    """A refused request with its own status and machine code (a service's ``Refused``, a
    reused idempotency key …); ``field`` puts the message under that field as well."""

    def __init__(
        self, message: object, *, code: str, http_status: int, field: str | None = None
    ) -> None:
        super().__init__(detail=str(message), code=code)
        self.status_code = http_status
        self.field = field
        # Messages per field, when several inputs are at fault at once.
        self.fields: dict[str, list[str]] = {}
        self.machine_code = code


class LimitedJSONParser(JSONParser):
    """JSON, refused with 413 past DATA_UPLOAD_MAX_MEMORY_SIZE.

    DRF's parser reads the request stream itself, so Django's own limit (enforced only
    by ``request.body`` and form parsing) never applies to a JSON API body."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        if limit is not None and request is not None:
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                raise PayloadTooLarge
        if limit is not None and stream is not None:
            from io import BytesIO

            data = stream.read(limit + 1)
            if len(data) > limit:
                raise PayloadTooLarge
            stream = BytesIO(data)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # Thousands of nested arrays or objects exhaust the parser's stack: a bad
            # request like any other malformed body, not a server error.
            raise exceptions.ParseError(_("The JSON body is nested too deeply.")) from None


def error_body(code: str, message: object, fields: Mapping[str, Any] | None = None) -> dict:
    return {"code": code, "message": str(message), "fields": dict(fields or {})}


def _code_of(exc: exceptions.APIException) -> str:
    if isinstance(exc, ApiError):
        return exc.machine_code
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views reads the API settings at import, and those name
    # this module's parser, so a module-level import would be circular.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Refused):
        refusal = exc
        exc = ApiError(refusal.message, code=refusal.code, http_status=refusal.http_status)
        for problem in refusal.problems:
            if problem.field:
                exc.fields.setdefault(problem.field, [problem.message])
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        response.data = error_body("invalid", MSG_INVALID, fields)
        return response
    assert isinstance(exc, exceptions.APIException)
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    fields = {exc.field: [str(detail)]} if isinstance(exc, ApiError) and exc.field else {}
    if isinstance(exc, ApiError) and exc.fields:
        fields = exc.fields
    response.data = error_body(_code_of(exc), detail or _("Error."), fields)
    return response


# --- The error shape in the OpenAPI schema ------------------------------------------------


class ErrorOut(serializers.Serializer):
    code = serializers.CharField(help_text=gettext_lazy("A stable machine code."))
    message = serializers.CharField()
    # The serializer's metaclass moves declared fields off the class, so this never
    # shadows Serializer.fields at run time; the stubs cannot know that.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(),
        help_text=gettext_lazy("Messages per input field (lists of strings)."),
    )


_EXAMPLES: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: ("invalid", "Some fields are not valid.", {"title": ["This field is required."]}),
    401: ("not_authenticated", "Authentication credentials were not provided.", {}),
    403: ("not_admin", "Only your organization's admins can contact support.", {}),
    404: ("not_found", "Not found.", {}),
    409: ("illegal_transition", "This request is already resolved.", {}),
    413: ("too_large", "The request body is too large.", {}),
    415: ("unsupported_media_type", 'Unsupported media type "text/plain" in request.', {}),
    422: (
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request.",
        {},
    ),
    429: ("throttled", "Request was throttled. Expected available in 12 seconds.", {}),
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation, each with an example."""
    responses = {}
    for code in statuses:
        machine, message, fields = _EXAMPLES[code]
        responses[code] = OpenApiResponse(
            ErrorOut,
            description=message,
            examples=[
                OpenApiExample(
                    machine,
                    value=error_body(machine, message, fields),
                    status_codes=[str(code)],
                    response_only=True,
                )
            ],
        )
    return responses


# Every authenticated operation can answer these.
COMMON_ERRORS = (401, 403, 429)
WRITE_ERRORS = (400, 401, 403, 413, 415, 429)
