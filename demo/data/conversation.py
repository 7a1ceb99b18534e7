"""The vocabulary of the demo's service requests: a request as its filer answered the
form, and the steps of its conversation after it was filed, each a delay and an action
that the seed performs through the tickets' services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from severity.choices import Category, Impact, Scope
from tickets.models import ContactMethod

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)


CUSTOMER = "customer"  # Step.by: the member who filed (or phoned in) the request


@dataclass(frozen=True, slots=True)
class Step:
    after: timedelta  # since the request was filed
    action: str  # claim | assign | reply | ask | answer | note | resolve | rate | close
    by: str  # a STAFF key, or CUSTOMER
    text: str = ""
    to: str = ""  # assign: the STAFF key of the assignee
    score: int = 0  # rate: the customer's 1–5 satisfaction (POL-ROLE-2)


def claim(after: timedelta, agent: str) -> Step:
    return Step(after, "claim", agent)


def assign(after: timedelta, to: str) -> Step:
    return Step(after, "assign", "supervisor", to=to)


def reply(after: timedelta, agent: str, text: str) -> Step:
    return Step(after, "reply", agent, text)


def ask(after: timedelta, agent: str, text: str) -> Step:
    return Step(after, "ask", agent, text)


def answer(after: timedelta, text: str) -> Step:
    return Step(after, "answer", CUSTOMER, text)


def note(after: timedelta, agent: str, text: str) -> Step:
    return Step(after, "note", agent, text)


def resolve(after: timedelta, by: str, text: str) -> Step:
    return Step(after, "resolve", by, text)


def close(after: timedelta, by: str) -> Step:
    return Step(after, "close", by)


def rate(after: timedelta, score: int, text: str = "") -> Step:
    return Step(after, "rate", CUSTOMER, text, score=score)


@dataclass(frozen=True, slots=True)
class DemoTicket:
    ago: timedelta  # filed this long before the command runs
    filer: str  # Tenant.members key; technical: admin/support, billing: admin/billing
    category: str
    product: str  # helpcenter.Service slug
    impact: str
    scope: str
    title: str
    description: str
    business_impact: str = ""
    contact_24x7: str = ""
    preferred_contact: str = ContactMethod.EMAIL
    # A phone request is typed in by the agent who took the call (STAFF key).
    phoned_to: str = ""
    steps: tuple[Step, ...] = ()


TECH, BILLING, PRESALES = Category.TECHNICAL, Category.BILLING, Category.PRESALES
DOWN, DEGRADED, MINIMAL = Impact.SERVICE_DOWN, Impact.DEGRADED, Impact.MINIMAL
MANY, ONE = Scope.MANY, Scope.ONE
