"""Every API error is JSON with a machine code and a human message (and field messages).

``{"code": "invalid", "message": "…", "fields": {"caller_number": ["…"]}}``
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        fields = (
            response.data
            if isinstance(response.data, dict)
            else {"non_field_errors": response.data}
        )
        response.data = {
            "code": "invalid",
            "message": _("Some fields are not valid."),
            "fields": fields,
        }
        return response
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
    response.data = {
        "code": codes if isinstance(codes, str) else "error",
        "message": str(detail),
    }
    return response
