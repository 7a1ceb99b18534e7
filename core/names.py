"""Names the data migrations seed (products, business calendars), in the reader's language.

The rows store the English name; the same names are marked here for translation (with a
context, so "Billing" the calendar and "Other" the product translate on their own), and a
Polish reader sees Polish product and calendar names. A name an admin typed later is not
in the catalog and is shown as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

# helpcenter/migrations/0002_seed_services.py
PRODUCT_NAMES: Mapping[str, StrPromise] = {
    "Exchange Online": pgettext_lazy("product", "Exchange Online"),
    "SharePoint Online": pgettext_lazy("product", "SharePoint Online"),
    "Microsoft Teams": pgettext_lazy("product", "Microsoft Teams"),
    "Microsoft 365 Apps": pgettext_lazy("product", "Microsoft 365 Apps"),
    "Identity and single sign-on": pgettext_lazy("product", "Identity and single sign-on"),
    "Directory synchronisation": pgettext_lazy("product", "Directory synchronisation"),
    "Admin centre": pgettext_lazy("product", "Admin centre"),
    "Billing and subscriptions": pgettext_lazy("product", "Billing and subscriptions"),
    "Other": pgettext_lazy("product", "Other"),
}

# severity/migrations/0002_seed_policy.py
CALENDAR_NAMES: Mapping[str, StrPromise] = {
    "24x7": pgettext_lazy("business calendar", "24x7"),
    "B/C technical": pgettext_lazy("business calendar", "B/C technical"),
    "Billing": pgettext_lazy("business calendar", "Billing"),
    "Pre-sales": pgettext_lazy("business calendar", "Pre-sales"),
}


def product_name(name: str) -> str:
    """A product's name in the active language (a seeded one), else as stored."""
    marked = PRODUCT_NAMES.get(name)
    return str(marked) if marked is not None else name


def calendar_name(name: str) -> str:
    """A business calendar's name in the active language (a seeded one), else as stored."""
    marked = CALENDAR_NAMES.get(name)
    return str(marked) if marked is not None else name
