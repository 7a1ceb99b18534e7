"""Cursor pagination for the API's time-ordered lists.

DRF's cursor carries the last row's ordering value (``p``) and filters on it as given. A
cursor is the client's to send back unchanged, but anyone can forge one: a position that
is no time was a Django validation error, and a time without a zone a naive datetime
read in the server's zone. Here both are what DRF answers for any other bad cursor.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request


class TimeCursorPagination(CursorPagination):
    """A cursor over a list ordered by a time (``created_at``, ``updated_at``): its
    position must be an aware time, as the pages' own links write it."""

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor: Cursor | None = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not _aware_time(cursor.position):
            raise NotFound(self.invalid_cursor_message)
        return cursor


def _aware_time(value: Any) -> bool:
    try:
        moment = parse_datetime(str(value))
    except ValueError:  # well formed, out of range (a 13th month)
        return False
    return moment is not None and not timezone.is_naive(moment)
