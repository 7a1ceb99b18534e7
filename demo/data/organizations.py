"""The demo tenants: Contoso (advanced contract, Poland) and Fabrikam (standard contract,
United States, through the partner Northwind), their members and registered contacts."""

from __future__ import annotations

from dataclasses import dataclass

from demo.data.people import Person
from tenants.models import Contract, Role


@dataclass(frozen=True, slots=True)
class Contact:
    value: str
    label: str
    # Past its 48-hour cool-off, so a PIN can be sent to it now (POLICY.md PIN defaults).
    usable: bool


@dataclass(frozen=True, slots=True)
class Tenant:
    slug: str
    name: str
    contract: str
    country: str
    time_zone: str
    partner: bool
    phones: tuple[Contact, ...]
    emails: tuple[Contact, ...]
    # Role key → the member; the keys are the ones DemoTicket.filer uses.
    members: dict[str, tuple[Person, str]]


PARTNER = {
    "name": "Northwind Partners",
    "phone": "+48 22 123 45 67",
    "email": "help@northwind.example",
    "url": "https://northwind.example",
}

CONTOSO = Tenant(
    slug="contoso",
    name="Contoso Ltd.",
    contract=Contract.ADVANCED,
    country="PL",
    time_zone="Europe/Warsaw",
    partner=False,
    phones=(
        Contact("+48 601 234 567", "IT on-call mobile", usable=True),
        Contact("+48 22 555 01 23", "Head office", usable=False),
    ),
    emails=(
        Contact("it@contoso.example", "IT department", usable=True),
        Contact("security@contoso.example", "Security team", usable=False),
    ),
    members={
        "admin": (
            Person("admin@contoso.example", "Katarzyna Nowak", "pl", "+48 601 234 567"),
            Role.GLOBAL_ADMIN,
        ),
        "billing": (
            Person("billing@contoso.example", "Piotr Wiśniewski", phone="+48 22 555 01 23"),
            Role.BILLING_ADMIN,
        ),
        "support": (
            Person("support-admin@contoso.example", "Anna Kowalczyk", phone="+48 512 345 678"),
            Role.SERVICE_SUPPORT_ADMIN,
        ),
        "user": (Person("user@contoso.example", "Jan Zieliński"), Role.USER),
    },
)

FABRIKAM = Tenant(
    slug="fabrikam",
    name="Fabrikam Inc.",
    contract=Contract.STANDARD,
    country="US",
    time_zone="America/New_York",
    partner=True,
    phones=(Contact("+1 212 555 0100", "IT help line", usable=True),),
    emails=(Contact("it@fabrikam.example", "IT department", usable=True),),
    members={
        "admin": (
            Person("admin@fabrikam.example", "Emily Carter", phone="+1 212 555 0100"),
            Role.GLOBAL_ADMIN,
        ),
        "billing": (
            Person("billing@fabrikam.example", "Michael Brooks", phone="+1 212 555 0142"),
            Role.BILLING_ADMIN,
        ),
        "support": (
            Person("support-admin@fabrikam.example", "Sarah Nguyen", phone="+1 646 555 0187"),
            Role.SERVICE_SUPPORT_ADMIN,
        ),
        "user": (Person("user@fabrikam.example", "David Miller"), Role.USER),
    },
)

TENANTS = (CONTOSO, FABRIKAM)
