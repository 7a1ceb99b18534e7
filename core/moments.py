"""Moments and time zones as people read them: one date and time format per language
(supportdesk/formats/<lang>/formats.py), and every time carries its zone in words.

Zone and place names come from CLDR through babel, in the reader's language ("Warsaw
time", "czas: Warszawa", "New York, United States"); a raw zone id ("America/New_York")
is never shown. Pure: the language and zone are passed in or read from Django's active
ones; nothing here touches the database.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import get_timezone_location
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "Universal"})

# Zones people name after another city than CLDR's exemplar: the policy speaks of
# "Beijing time" (POL-SLA-3), while CLDR names Asia/Shanghai after Shanghai.
_CITY_NAMES = {"Asia/Shanghai": gettext_noop("Beijing")}

type Form = Literal["full", "short", "date", "clock"]


def zone_key(zone: ZoneInfo | str) -> str:
    return zone.key if isinstance(zone, ZoneInfo) else zone


def is_utc(zone: ZoneInfo | str) -> bool:
    return zone_key(zone) in _UTC_KEYS


@functools.lru_cache(maxsize=16)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _language(language: str | None) -> str:
    return language or translation.get_language() or "en"


@functools.lru_cache(maxsize=2048)
def _cldr_city(key: str, locale: Locale) -> str:
    try:
        city = get_timezone_location(key, locale=locale, return_city=True)
    except LookupError:
        city = ""
    # A zone CLDR does not know: its last part, readable, rather than the id.
    return city or key.rsplit("/", 1)[-1].replace("_", " ")


def zone_city(zone: ZoneInfo | str, language: str | None = None) -> str:
    """``Warsaw`` / ``Warszawa``, ``New York`` / ``Nowy Jork``, ``Beijing``; ``UTC``."""
    key = zone_key(zone)
    if is_utc(key):
        return "UTC"
    language = _language(language)
    if key in _CITY_NAMES:
        with translation.override(language):
            return _(_CITY_NAMES[key])
    return _cldr_city(key, _locale(language))


def zone_words(zone: ZoneInfo | str, language: str | None = None) -> str:
    """``Warsaw time``, ``Beijing time``, ``UTC``: the zone as a sentence names it."""
    if is_utc(zone):
        return "UTC"
    language = _language(language)
    city = zone_city(zone, language)
    with translation.override(language):
        return _("%(city)s time") % {"city": city}


def country_name(code: str, language: str | None = None) -> str:
    """A country's name from its ISO code in the reader's language (CLDR)."""
    names = _locale(_language(language)).territories
    return str(names.get(code.upper(), code))


def zone_place(zone: ZoneInfo | str, language: str | None = None) -> str:
    """``Warsaw, Poland``, ``Nowy Jork, Stany Zjednoczone``, ``UTC``: where a zone is,
    for the places that name a zone as a setting (an organization's, a user's)."""
    key = zone_key(zone)
    if is_utc(key):
        return _("UTC (coordinated universal time)")
    language = _language(language)
    city = zone_city(key, language)
    territory = get_global("zone_territories").get(key)
    if not territory:
        return city
    country = country_name(territory, language)
    if country == city:  # Singapore, Hong Kong
        return city
    with translation.override(language):
        return pgettext("city in a country", "%(city)s, %(country)s") % {
            "city": city,
            "country": country,
        }


def format_moment(
    value: datetime | date | None,
    *,
    zone: ZoneInfo | str | None = None,
    language: str | None = None,
    form: Form = "full",
) -> str:
    """A moment in the language's one format, read in ``zone`` (the active one unless
    given), with the zone in words:

    - ``full``: ``7 Dec 2026, 14:05 Warsaw time`` (English), ``07.12.2026, 14:05`` and
      the zone as Polish phrases it (Polish);
    - ``short`` (tables): ``7 Dec 2026, 14:05 (Warsaw)``;
    - ``date``: ``7 Dec 2026`` / ``07.12.2026``: a day needs no zone;
    - ``clock``: ``14:05 Warsaw time``: a time of day today, with its zone.
    """
    if value is None:
        return ""
    language = _language(language)
    with translation.override(language):
        if not isinstance(value, datetime):
            return formats.date_format(value, "DATE_FORMAT")
        tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone) if zone else None
        tz = tz or timezone.get_current_timezone()
        local = timezone.localtime(value, tz) if timezone.is_aware(value) else value
        if form == "date":
            return formats.date_format(local, "DATE_FORMAT")
        moment = formats.date_format(local, "TIME_FORMAT" if form == "clock" else "DATETIME_FORMAT")
        if form == "short":
            return f"{moment} ({zone_city(tz, language)})"
        # Translators: a date and time, then its zone ("Warsaw time", "UTC").
        return pgettext("moment with its zone", "%(moment)s %(zone)s") % {
            "moment": moment,
            "zone": zone_words(tz, language),
        }


def format_clock(
    value: datetime, *, zone: ZoneInfo | str | None = None, language: str | None = None
) -> str:
    """``14:05``: the time of day alone, read in ``zone``; the caller names the zone."""
    language = _language(language)
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone) if zone else None
    local = timezone.localtime(value, tz or timezone.get_current_timezone())
    with translation.override(language):
        return formats.time_format(local, "TIME_FORMAT")
