"""Who on staff is told about an Event, and as what kind of notice (issue 14, item 5).

=====================================  ===================================================
Event                                  told
=====================================  ===================================================
CREATED with severity A                every active agent and supervisor (no duty roster
                                       exists: every active agent counts as on duty)
CUSTOMER_REPLIED, REOPENED             the assignee and followers; every active agent if
                                       the ticket is unassigned
ASSIGNED                               the new assignee, unless they took it themselves
WARNED                                 the assignee and followers; the supervisors if the
                                       ticket is unassigned
ESCALATED level 1                      the assignee, followers and the supervisors
ESCALATED level 2 and above            the supervisors, the assignee and followers
=====================================  ===================================================

Followers are told like the assignee. Nobody is told of their own action, and only
active staff are told. The same rules write the in-app notice and choose the staff
e-mails, so a person gets one e-mail per Event at most (each preference aside).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from notices.models import NoticeKind, TicketFollower
from severity.choices import Severity
from severity.models import SlaPolicyVersion, policy_version
from tenants.models import StaffRole, User
from tickets.models import Event, EventKind

Told = dict[int, list[tuple[User, str]]]
_MEMO = "_notices_told"

_KIND_OF_EVENT: dict[str, str] = {
    EventKind.CUSTOMER_REPLIED: NoticeKind.CUSTOMER_REPLIED,
    EventKind.REOPENED: NoticeKind.REOPENED,
    EventKind.ASSIGNED: NoticeKind.ASSIGNED,
    EventKind.WARNED: NoticeKind.WARNED,
    EventKind.ESCALATED: NoticeKind.ESCALATED,
}


def notice_kind(event: Event) -> str | None:
    if event.kind == EventKind.CREATED:
        return NoticeKind.NEW_URGENT if event.after.get("severity") == Severity.A else None
    return _KIND_OF_EVENT.get(event.kind)


def escalation_level(event: Event) -> int:
    level = event.after.get("level", 1)
    return level if isinstance(level, int) else 1


class _Staff:
    """The staff a batch of Events may name, read in a fixed number of queries."""

    def __init__(self, events: Sequence[Event]) -> None:
        ticket_ids = {event.ticket_id for event in events if event.ticket_id is not None}
        self.followers: dict[int, list[User]] = {}
        for follower in (
            TicketFollower.objects.filter(ticket_id__in=ticket_ids, user__is_active=True)
            .exclude(user__staff_role=StaffRole.NONE)
            .select_related("user")
            .order_by("created_at", "pk")
        ):
            self.followers.setdefault(follower.ticket_id, []).append(follower.user)
        emails = {
            event.after["assignee"].lower()
            for event in events
            if event.kind == EventKind.ASSIGNED and isinstance(event.after.get("assignee"), str)
        }
        self.by_email: dict[str, User] = (
            {user.email.lower(): user for user in User.objects.agents().filter(email__in=emails)}
            if emails
            else {}
        )
        self._agents: list[User] | None = None
        self._supervisors: list[User] | None = None

    @property
    def agents(self) -> list[User]:
        if self._agents is None:
            self._agents = list(User.objects.agents().order_by("email"))
        return self._agents

    @property
    def supervisors(self) -> list[User]:
        if self._supervisors is None:
            self._supervisors = list(User.objects.supervisors().order_by("email"))
        return self._supervisors


def _assignee(event: Event) -> User | None:
    ticket = event.ticket
    assignee = ticket.assignee if ticket is not None else None
    return assignee if assignee is not None and assignee.is_agent else None


def _people(event: Event, staff: _Staff) -> list[User]:
    assignee = _assignee(event)
    followers = staff.followers.get(event.ticket_id or 0, [])
    mine = ([assignee] if assignee is not None else []) + followers
    if event.kind == EventKind.CREATED:
        return staff.agents
    if event.kind in (EventKind.CUSTOMER_REPLIED, EventKind.REOPENED):
        return mine if assignee is not None else staff.agents + followers
    if event.kind == EventKind.ASSIGNED:
        email = event.after.get("assignee")
        new = staff.by_email.get(email.lower()) if isinstance(email, str) else None
        return [new] if new is not None else []
    if event.kind == EventKind.WARNED:
        return mine if assignee is not None else staff.supervisors + followers
    if event.kind == EventKind.ESCALATED:
        if escalation_level(event) >= 2:
            return staff.supervisors + mine
        # Level 1 tells the supervisors where the ticket's policy says so, and always
        # when nobody is assigned (someone must hear of it).
        version = _version(event)
        if assignee is None or version is None or version.notify_supervisors:
            return mine + staff.supervisors
        return mine
    return []


def _version(event: Event) -> SlaPolicyVersion | None:
    """The escalation steps of the ticket's SLA policy version."""
    ticket = event.ticket
    if ticket is None or ticket.sla_version_id is None:
        return None
    return policy_version(ticket.sla_version_id)


def duty_addresses(event: Event) -> list[str]:
    """Who a level-2 escalation tells besides the staff: the duty manager addresses of
    the ticket's policy version (the deployment's DUTY_MANAGER_EMAIL for a ticket with
    none)."""
    version = _version(event)
    if version is not None:
        return version.duty_addresses
    duty = settings.SUPPORTDESK.DUTY_MANAGER_EMAIL
    return [duty] if duty else []


def told(events: Sequence[Event]) -> Told:
    """For each Event's id, the staff it tells with the notice kind, each person once.
    The Events come with ``select_related("ticket__assignee")``."""
    relevant = [e for e in events if e.ticket_id is not None and notice_kind(e) is not None]
    if not relevant:
        return {}
    # The outbox hands the same Event instances to the in-app handler and then to the
    # e-mail source of one delivery: the answer is kept on them so the batch reads the
    # staff once.
    if all(_MEMO in vars(event) for event in relevant):
        return {e.pk: vars(e)[_MEMO] for e in relevant if vars(e)[_MEMO]}
    staff = _Staff(relevant)
    result: Told = {}
    for event in relevant:
        kind = notice_kind(event)
        assert kind is not None
        seen: set[int] = set()
        people: list[tuple[User, str]] = []
        for person in _people(event, staff):
            if person.pk in seen or person.pk == event.actor_user_id:
                continue  # never told of their own action
            seen.add(person.pk)
            people.append((person, kind))
        vars(event)[_MEMO] = people
        if people:
            result[event.pk] = people
    return result
