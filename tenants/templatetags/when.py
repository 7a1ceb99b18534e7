"""The one way pages show a moment: ``{{ value|when }}`` ("7 Dec 2026, 14:05 Warsaw
time"), ``|when_short`` for tables ("7 Dec 2026, 14:05 (Warsaw)"), ``|when_date`` for a
day, ``|clock`` for a time of day beside ``{% zone_words %}``; and zone names in words
(``|zone_words``, ``|zone_place``), never the raw id. Read in the active zone (the
reader's: tenants.middleware) and language (core.moments)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone

from core import moments

register = template.Library()


def _zone(zone: ZoneInfo | str | None) -> ZoneInfo | str | None:
    return zone or None


@register.filter
def when(value: datetime | date | None, zone: ZoneInfo | str | None = None) -> str:
    """``7 Dec 2026, 14:05 Warsaw time``; ``zone`` (a ZoneInfo or id) overrides the
    reader's zone, e.g. for support's own hours."""
    return moments.format_moment(value, zone=_zone(zone), form="full")


@register.filter
def when_short(value: datetime | date | None, zone: ZoneInfo | str | None = None) -> str:
    """``7 Dec 2026, 14:05 (Warsaw)``: a table cell's moment."""
    return moments.format_moment(value, zone=_zone(zone), form="short")


@register.filter
def when_date(value: datetime | date | None, zone: ZoneInfo | str | None = None) -> str:
    """``7 Dec 2026`` / ``07.12.2026``: the day (of a moment: in the reader's zone)."""
    return moments.format_moment(value, zone=_zone(zone), form="date")


@register.filter
def clock(value: datetime | None, zone: ZoneInfo | str | None = None) -> str:
    """``14:05``: a time of day; the sentence around it names the zone."""
    if value is None:
        return ""
    return moments.format_clock(value, zone=_zone(zone))


@register.filter(name="zone_words")
def zone_words_filter(zone: ZoneInfo | str | None) -> str:
    """``Warsaw time`` / ``czas: Warszawa`` for a zone or its id."""
    return moments.zone_words(zone or timezone.get_current_timezone())


@register.filter(name="zone_place")
def zone_place_filter(zone: ZoneInfo | str | None) -> str:
    """``Warsaw, Poland`` / ``Warszawa, Polska``: a zone named as a setting."""
    return moments.zone_place(zone or timezone.get_current_timezone())


@register.simple_tag
def zone_words() -> str:
    """The reader's zone in words: ``{% zone_words %}``."""
    return moments.zone_words(timezone.get_current_timezone())
