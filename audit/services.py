"""Writing the audit trail: ``record`` is the one way in (issue 17).

Call it inside the transaction of the change it records, so a change and its audit row
commit or roll back together. Never pass secrets (keys, tokens, passwords); mask contacts
as the rest of the desk does (``tenants.masking``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from audit import context
from audit.models import AuditEntry


def _label(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    return str(getattr(user, "email", "") or user.get_username())


def record(
    *,
    action: str,
    actor: Any = None,
    organization: Any = None,
    target: models.Model | None = None,
    target_label: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    channel: str | None = None,
    actor_label: str | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one audit row. ``actor`` is the user who acted (None for the system);
    ``organization`` the tenant it concerns; ``target`` the object changed."""
    where = context.origin()
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        at=now or timezone.now(),
        action=action,
        channel=channel or where.channel,
        actor=user,
        actor_label=_label(user) if actor_label is None else actor_label,
        organization_id=getattr(organization, "pk", organization),
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:300],
        before=dict(before or {}),
        after=dict(after or {}),
        ip=where.ip,
        request_id=context.request_id(),
    )


def plain(value: object) -> object:
    """A field's value as the row's JSON keeps it: numbers, booleans and text as they are,
    related rows by id (many of them sorted), anything else (a phone number, a country)
    as its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(str(getattr(item, "pk", item)) for item in value)
    pk = getattr(value, "pk", None)
    return pk if isinstance(pk, int) else str(value)


def values_of(instance: models.Model, names: Sequence[str]) -> dict[str, object]:
    """``names`` of ``instance``'s fields as plain values (see :func:`plain`)."""
    return {name: plain(getattr(instance, name)) for name in names}


def record_changes(
    *,
    action: str,
    before: Mapping[str, object],
    after: Mapping[str, object],
    **row: Any,
) -> AuditEntry | None:
    """Record only the fields whose value differs between ``before`` and ``after`` (both
    as :func:`values_of` gives them); nothing, and None, when none does: saving a form
    unchanged is no change. ``row`` is passed on to :func:`record`."""
    changed = [name for name in after if before.get(name) != after[name]]
    if not changed:
        return None
    return record(
        action=action,
        before={name: before[name] for name in changed if name in before},
        after={name: after[name] for name in changed},
        **row,
    )


def save_recorded[M: models.Model](
    instance: M,
    *,
    fields: Sequence[str],
    created: str,
    changed: str,
    actor: Any,
    now: datetime,
    label: str = "",
) -> M:
    """Save ``instance`` with one audit row: ``created`` with its ``fields`` when it is
    new, else ``changed`` with the fields that differ from the stored row (read under a
    row lock; none, and no row, when nothing does). Call it inside the caller's
    transaction."""
    model = type(instance)
    stored = (
        None
        if instance._state.adding
        else model._default_manager.select_for_update().filter(pk=instance.pk).first()
    )
    instance.save()
    current = values_of(instance, fields)
    if stored is None:
        record(
            action=created, actor=actor, target=instance, target_label=label, after=current,
            now=now,
        )  # fmt: skip
    else:
        record_changes(
            action=changed,
            actor=actor,
            target=instance,
            target_label=label,
            before=values_of(stored, fields),
            after=current,
            now=now,
        )
    return instance


def delete_recorded(
    instance: models.Model,
    *,
    fields: Sequence[str],
    deleted: str,
    actor: Any,
    now: datetime,
    label: str = "",
) -> None:
    """Delete ``instance``; its audit row keeps its ``fields``."""
    record(
        action=deleted,
        actor=actor,
        target=instance,
        target_label=label,
        before=values_of(instance, fields),
        now=now,
    )
    instance.delete()


def forget_person(*, user_id: int, replacement: str, names: Sequence[str] = ()) -> int:
    """Erasure (POLICY privacy, issue 17): the rows a person made keep the fact but lose the
    name. The only write to existing rows the application makes, and it changes only the
    labels. ``names``: how the person was written (their address, their name); a row
    about something else that names them in its label (their membership, an export of
    their data) has those words replaced. Returns how many rows were touched."""
    # The immutable queryset refuses update(); this one sanctioned change goes through the
    # base QuerySet on purpose.
    rows: models.QuerySet[AuditEntry] = models.QuerySet(model=AuditEntry)
    acted = rows.filter(actor_id=user_id).update(actor_label=replacement)
    # Rows about the person (their password, their sign-ins) name them as the target.
    about = rows.filter(target_type="tenants.user", target_id=str(user_id))
    touched = acted + about.update(target_label=replacement)
    for name in (n for n in names if n):
        pattern = re.compile(re.escape(name), re.IGNORECASE)
        for pk, label in rows.filter(target_label__icontains=name).values_list(
            "pk", "target_label"
        ):
            rows.filter(pk=pk).update(target_label=pattern.sub(replacement, label)[:300])
            touched += 1
    return touched
