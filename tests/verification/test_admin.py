"""The read-only admin of verification records, and its supervisor-only Unlock action."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tenants.models import StaffRole, User
from tests.conftest import World
from tests.verification.conftest import Contacts, last_code
from verification.models import Call, EventKind, OrganizationPinState, PinChallenge
from verification.services import code_send

pytestmark = pytest.mark.django_db


def login(client: Client, role: str) -> User:
    user = User.objects.create_superuser(f"root-{role}@provider.test", "a-long-test-password")
    user.staff_role = role
    user.save()
    client.force_login(user)
    return user


def test_unlock_action_unlocks_for_a_supervisor(client: Client, world: World) -> None:
    supervisor = login(client, StaffRole.SUPERVISOR)
    state = OrganizationPinState.objects.create(
        organization=world.org_a, locked_at=timezone.now(), consecutive_failures=100
    )
    url = reverse("admin:verification_organizationpinstate_changelist")

    response = client.post(url, {"action": "unlock", "_selected_action": [state.pk]}, follow=True)

    assert response.status_code == 200
    state.refresh_from_db()
    assert (state.locked_at, state.unlocked_by) == (None, supervisor)
    assert world.org_a.verification_events.filter(kind=EventKind.UNLOCKED).exists()


def test_unlock_action_is_not_offered_to_an_agent(client: Client, world: World) -> None:
    login(client, StaffRole.AGENT)
    state = OrganizationPinState.objects.create(organization=world.org_a, locked_at=timezone.now())
    url = reverse("admin:verification_organizationpinstate_changelist")

    page = client.get(url)
    assert b'value="unlock"' not in page.content
    client.post(url, {"action": "unlock", "_selected_action": [state.pk]})
    state.refresh_from_db()
    assert state.locked_at is not None


def test_the_admin_never_shows_a_codes_salt_or_hash(
    client: Client, world: World, contacts: Contacts, call: Call
) -> None:
    login(client, StaffRole.SUPERVISOR)
    code_send(
        call=call,
        agent=world.agent,
        channel_id=contacts.email.pk,
        channel_kind="email",
        now=timezone.now(),
    )
    challenge = PinChallenge.objects.get()

    page = client.get(reverse("admin:verification_pinchallenge_change", args=[challenge.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert challenge.salt not in html
    assert challenge.code_hash not in html
    assert last_code() not in html
    assert client.get(reverse("admin:verification_pinchallenge_add")).status_code == 403
