"""Who else is on a request right now: "Anna is viewing", "Piotr is replying".

Kept in the cache only (nothing to audit, nothing to keep): one key per ticket holding
an entry per agent with its own expiry. Each open ticket page beats every ~10 s and an
entry lives ``TTL`` seconds, so a closed tab disappears within half a minute. Two beats
at the same instant may drop one entry until that agent's next beat; presence is a hint,
not a lock (the stale-reply guard in ``tickets.collision`` is the rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache

TTL = 30  # seconds an entry lives without a beat
VIEWING = "viewing"
REPLYING = "replying"
STATES = (VIEWING, REPLYING)


@dataclass(frozen=True, slots=True)
class Presence:
    user_id: int
    name: str
    state: str


def _key(ticket_id: int) -> str:
    return f"presence:ticket:{ticket_id}"


def _live(entries: Any, now: float) -> dict[str, list[Any]]:
    if not isinstance(entries, dict):
        return {}
    return {
        uid: entry
        for uid, entry in entries.items()
        if isinstance(entry, list) and len(entry) == 3 and entry[2] > now
    }


def presence_beat(*, ticket_id: int, user_id: int, name: str, state: str, now: datetime) -> None:
    """Record that this agent is on the ticket (viewing or replying) for ``TTL`` seconds."""
    stamp = now.timestamp()
    entries = _live(cache.get(_key(ticket_id)), stamp)
    entries[str(user_id)] = [name, state if state in STATES else VIEWING, stamp + TTL]
    cache.set(_key(ticket_id), entries, TTL)


def presence_leave(*, ticket_id: int, user_id: int, now: datetime) -> None:
    entries = _live(cache.get(_key(ticket_id)), now.timestamp())
    if entries.pop(str(user_id), None) is not None:
        cache.set(_key(ticket_id), entries, TTL)


def present_on(ticket_id: int, *, now: datetime, besides: int | None = None) -> list[Presence]:
    """The agents on the ticket now, replying ones first, then by name; ``besides`` (the
    reader) left out."""
    entries = _live(cache.get(_key(ticket_id)), now.timestamp())
    found = [
        Presence(int(uid), str(entry[0]), str(entry[1]))
        for uid, entry in entries.items()
        if int(uid) != besides
    ]
    return sorted(found, key=lambda p: (p.state != REPLYING, p.name.casefold()))
