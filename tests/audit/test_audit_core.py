"""The audit trail's core (issue 17): rows are written with their origin and can never be
changed or deleted through the application."""

from __future__ import annotations

import pytest

from audit import context, services
from audit.actions import Action, Channel
from audit.models import AuditEntry, AuditImmutable

pytestmark = pytest.mark.django_db


def test_record_keeps_who_where_and_what(world):
    with context.acting_from(Channel.PORTAL, "203.0.113.9"):
        entry = services.record(
            action=Action.MEMBER_ROLE_CHANGED,
            actor=world.admin_a.user,
            organization=world.org_a,
            target=world.user_a,
            before={"role": "user"},
            after={"role": "admin"},
        )
    entry.refresh_from_db()
    assert entry.channel == "portal"
    assert entry.ip == "203.0.113.9"
    assert entry.actor_label == world.admin_a.user.email
    assert entry.organization_id == world.org_a.pk
    assert entry.target_type == "tenants.membership"
    assert entry.after == {"role": "admin"}


def test_rows_cannot_be_changed_or_deleted(world):
    entry = services.record(action=Action.SIGNIN, actor=world.agent)
    entry.actor_label = "someone else"
    with pytest.raises(AuditImmutable):
        entry.save()
    with pytest.raises(AuditImmutable):
        entry.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(actor_label="x")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).actor_label == world.agent.email


def test_forget_person_changes_only_the_name(world):
    entry = services.record(action=Action.SIGNIN, actor=world.agent)
    assert services.forget_person(user_id=world.agent.pk, replacement="Erased person") == 1
    entry.refresh_from_db()
    assert entry.actor_label == "Erased person"
    assert entry.action == Action.SIGNIN


def test_system_work_is_recorded_as_automatic(world):
    entry = services.record(action=Action.RETENTION_PURGED, organization=world.org_a)
    assert entry.channel == Channel.SYSTEM
    assert entry.actor is None
    assert entry.ip is None
