"""What the customer and desk APIs share: the request number in the path. (A service's
refusal becomes the JSON error in ``core.api_errors.exception_handler``.)"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

NUMBER = OpenApiParameter(
    "number",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description=_("The request's number, e.g. SR-000123 (or 123)."),
)
