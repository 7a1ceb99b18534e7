"""Who performs a change: a person, an API key or the system (workers)."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import Membership, User
from tickets.models import ActorKind


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    user: User | None = None
    label: str = ""
    # The tenant role the actor acts with (a member's role, an API key's role); None for
    # provider staff and the system.
    role: str | None = None

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
        )

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=name)

    @property
    def is_agent(self) -> bool:
        return self.user is not None and self.user.is_agent

    @property
    def is_supervisor(self) -> bool:
        return self.user is not None and self.user.is_supervisor
