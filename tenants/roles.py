"""Who in a customer organization may do what (POL-WHO-1, POL-WHO-2). Pure."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from severity.choices import Category
from tenants.models import Role

# POL-WHO-2 default: global admins file anything; billing admins billing and pre-sales;
# service support admins technical requests. Plain users file nothing (POL-WHO-1).
FILING_RIGHTS: dict[str, frozenset[str]] = {
    Role.GLOBAL_ADMIN: frozenset({Category.TECHNICAL, Category.PRESALES, Category.BILLING}),
    Role.BILLING_ADMIN: frozenset({Category.BILLING, Category.PRESALES}),
    Role.SERVICE_SUPPORT_ADMIN: frozenset({Category.TECHNICAL}),
    Role.USER: frozenset(),
}

ROLE_CANNOT_FILE = _(
    "As %(role)s you cannot file %(category)s requests. Ask a global admin of your "
    "organization to file it."
)


def may_file(role: str, category: str) -> bool:
    return category in FILING_RIGHTS.get(role, frozenset())


def fileable_categories(role: str) -> list[str]:
    return [c.value for c in Category if may_file(role, c.value)]
