"""What the customer and desk APIs share: a ``TicketError`` becomes a JSON error with its
code (refused transitions 409, missing rights 403, bad values 400 on their field), and the
request number in the path."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status

from core.api_errors import ApiError
from tickets.services import TicketError

_ERROR_STATUS = {
    "forbidden": status.HTTP_403_FORBIDDEN,
    "forbidden_category": status.HTTP_403_FORBIDDEN,
    "illegal_transition": status.HTTP_409_CONFLICT,
    "already_rated": status.HTTP_409_CONFLICT,
    "reopen_window": status.HTTP_409_CONFLICT,
    "unchanged": status.HTTP_409_CONFLICT,
}


def refused(error: TicketError) -> ApiError:
    return ApiError(
        error.message,
        code=error.code,
        http_status=_ERROR_STATUS.get(error.code, status.HTTP_400_BAD_REQUEST),
        field=error.field,
    )


NUMBER = OpenApiParameter(
    "number",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description=_("The request's number, e.g. SR-000123 (or 123)."),
)
