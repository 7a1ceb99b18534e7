"""Who performs a change: a person, an API key or the system (workers)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from tenants.models import Membership, Role, User
from tickets.models import ActorKind, Event


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    user: User | None = None
    label: str = ""
    # The tenant role the actor acts with (a member's role, an API key's role); None for
    # provider staff and the system.
    role: str | None = None
    # The organization a tenant actor acts for; None for provider staff and the system.
    organization_id: int | None = None
    # The ticket whose contact e-mail address this actor is, when it is not a member's
    # (an answer by e-mail from the address the request names, POL-WHO-1 via POL-REQ-1).
    contact_of_ticket: int | None = None

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(kind=ActorKind.USER, user=user, label=user.email)

    @classmethod
    def for_member(cls, membership: Membership) -> Actor:
        return cls(
            kind=ActorKind.USER,
            user=membership.user,
            label=membership.user.email,
            role=membership.role,
            organization_id=membership.organization_id,
        )

    @classmethod
    def for_contact_email(cls, ticket_id: int, email: str) -> Actor:
        """The contact address of one request, answering it by e-mail: the caller checked
        that the address is the ticket's contact e-mail."""
        return cls(kind=ActorKind.USER, label=email.strip().lower(), contact_of_ticket=ticket_id)

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=name)

    @property
    def is_agent(self) -> bool:
        return self.user is not None and self.user.is_agent

    @property
    def is_system(self) -> bool:
        return self.kind == ActorKind.SYSTEM

    def is_admin_of(self, organization_id: int) -> bool:
        """A customer admin acting for this very organization (POL-WHO-1)."""
        return (
            self.role in Role.admin_roles()
            and self.organization_id is not None
            and self.organization_id == organization_id
        )

    def is_contact_of(self, ticket_id: int) -> bool:
        return self.contact_of_ticket is not None and self.contact_of_ticket == ticket_id

    @property
    def is_supervisor(self) -> bool:
        return self.user is not None and self.user.is_supervisor


def actor_name(event: Event) -> str:
    """Who made a change, in words for support: the workers are "Automatic SLA check",
    never their process name."""
    if event.actor_kind == ActorKind.SYSTEM:
        return _("Automatic SLA check")
    if event.actor_user is not None:
        return event.actor_user.get_full_name() or event.actor_user.email
    return event.actor_label
