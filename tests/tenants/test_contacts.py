"""Registered contacts managed by global admins in the portal (issue 5, item 1).

Three tiers: the pure rules (password lock), the services (password, roles, parsing,
duplicates, cool-off, audit, notices after commit), and the portal pages over the test
client (list, add, remove, refusals, cross-tenant 404s, garbage input).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from tenants.mail import KIND_HEADER
from tenants.models import (
    CONTACT_COOL_OFF,
    ContactAction,
    ContactChange,
    Membership,
    RegisteredEmail,
    RegisteredPhone,
    Role,
)
from tenants.services import (
    ERR_DUPLICATE_EMAIL,
    ERR_DUPLICATE_PHONE,
    ERR_INVALID_EMAIL,
    ERR_INVALID_PHONE,
    ERR_NOT_GLOBAL_ADMIN,
    ERR_WRONG_PASSWORD,
    ContactError,
    contact_email_add,
    contact_phone_add,
    contact_remove,
    password_lock_ends,
)
from tests.conftest import T0, World
from tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db

OLD_EMAIL = "it-desk@alpha.test"  # registered long ago: receives codes
COOLING_EMAIL = "new.cfo@alpha.test"  # registered an hour ago: still in its cool-off
OLD_PHONE = "+48600100123"
NEW_PHONE_NATIONAL = "600 100 200"  # a Polish mobile without its country code
NEW_PHONE_E164 = "+48600100200"
B_PHONE = "+48601200300"


@pytest.fixture
def contacts(world: World) -> dict[str, Any]:
    """Registered contacts of both organizations, created before T0."""
    past = {"created_at": T0 - timedelta(days=30), "active_from": T0 - timedelta(days=28)}
    return {
        "old_email": RegisteredEmail.objects.create(
            organization=world.org_a, email=OLD_EMAIL, label="IT", **past
        ),
        "cooling_email": RegisteredEmail.objects.create(
            organization=world.org_a,
            email=COOLING_EMAIL,
            created_at=T0 - timedelta(hours=1),
            active_from=T0 + timedelta(hours=47),
        ),
        "old_phone": RegisteredPhone.objects.create(
            organization=world.org_a, number=OLD_PHONE, label="Front desk", **past
        ),
        "b_phone": RegisteredPhone.objects.create(organization=world.org_b, number=B_PHONE, **past),
        "b_email": RegisteredEmail.objects.create(
            organization=world.org_b, email="it@bravo.test", **past
        ),
    }


@pytest.fixture
def billing_a(world: World) -> Membership:
    return MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(T0, tick=False):
        yield


def notices() -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.extra_headers.get(KIND_HEADER) == "contacts-changed"]


def recipients() -> set[str]:
    return {address for m in notices() for address in m.to}


def add_phone(world: World, *, number: str = NEW_PHONE_NATIONAL, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "organization": world.org_a,
        "actor_membership": world.admin_a,
        "number": number,
        "label": "Night shift",
        "password": PASSWORD,
        "now": T0,
    }
    values.update(overrides)
    return contact_phone_add(**values)


def contacts_url(name: str = "portal:contacts", org: str = "alpha", **kwargs: Any) -> str:
    return reverse(name, kwargs={"org": org, **kwargs})


def remove_url(contact: RegisteredPhone | RegisteredEmail, org: str = "alpha") -> str:
    kind = "phone" if isinstance(contact, RegisteredPhone) else "email"
    return contacts_url("portal:contact_remove", org=org, kind=kind, contact=contact.pk)


# --- Pure: the wrong-password lock ---------------------------------------------------------


def test_five_wrong_passwords_within_fifteen_minutes_lock_for_fifteen_minutes() -> None:
    failures = [T0 + timedelta(minutes=m) for m in (0, 2, 4, 6, 8)]
    assert password_lock_ends(failures) == T0 + timedelta(minutes=23)
    assert password_lock_ends(failures[:4]) is None


def test_wrong_passwords_spread_over_more_than_the_window_do_not_lock() -> None:
    failures = [T0 + timedelta(minutes=m) for m in (0, 4, 8, 12, 16)]
    assert password_lock_ends(failures) is None
    # ... until a later failure makes five within fifteen minutes.
    assert password_lock_ends([*failures, T0 + timedelta(minutes=17)]) == T0 + timedelta(minutes=32)


# --- Services: adding ----------------------------------------------------------------------


def test_phone_is_stored_in_e164_with_a_48_hour_cool_off(world: World, contacts: Any) -> None:
    phone = add_phone(world)

    phone.refresh_from_db()
    assert str(phone.number) == NEW_PHONE_E164  # parsed with the organization's country (PL)
    assert phone.organization == world.org_a
    assert phone.label == "Night shift"
    assert phone.created_at == T0
    assert phone.active_from == T0 + timedelta(hours=48) == T0 + CONTACT_COOL_OFF
    assert not RegisteredPhone.objects.filter(pk=phone.pk).usable_at(T0 + timedelta(hours=47))
    assert RegisteredPhone.objects.filter(pk=phone.pk).usable_at(T0 + timedelta(hours=48))


def test_email_is_stored_lower_case_with_a_48_hour_cool_off(world: World) -> None:
    registered = contact_email_add(
        organization=world.org_a,
        actor_membership=world.admin_a,
        email="  Anna.Nowak@Alpha.TEST ",
        label="",
        password=PASSWORD,
        now=T0,
    )

    assert registered.email == "anna.nowak@alpha.test"
    assert registered.active_from == T0 + CONTACT_COOL_OFF


def test_every_change_is_audited_with_a_masked_value(world: World, contacts: Any) -> None:
    phone = add_phone(world)
    contact_remove(
        organization=world.org_a,
        actor_membership=world.admin_a,
        kind="phone",
        contact_id=phone.pk,
        password=PASSWORD,
        now=T0 + timedelta(minutes=1),
    )

    changes = list(ContactChange.objects.filter(organization=world.org_a))
    assert [(c.action, c.masked_value) for c in changes] == [
        (ContactAction.PHONE_ADDED, "+48 *** *** 200"),
        (ContactAction.PHONE_REMOVED, "+48 *** *** 200"),
    ]
    assert all(c.actor == world.admin_a.user for c in changes)
    assert NEW_PHONE_E164 not in str([c.__dict__ for c in changes])


@pytest.mark.parametrize(
    "number", ["12", "not a number", "+48 123", "+999 600 100 200", "", "\x00", "9" * 500]
)
def test_invalid_phone_is_refused(world: World, number: str) -> None:
    with pytest.raises(ContactError) as refused:
        add_phone(world, number=number)

    assert refused.value.message == str(ERR_INVALID_PHONE)
    assert refused.value.field == "number"
    assert not RegisteredPhone.objects.exists()


def test_invalid_email_is_refused(world: World) -> None:
    with pytest.raises(ContactError) as refused:
        contact_email_add(
            organization=world.org_a,
            actor_membership=world.admin_a,
            email="not-an-address",
            label="",
            password=PASSWORD,
            now=T0,
        )
    assert refused.value.message == str(ERR_INVALID_EMAIL)


def test_duplicates_are_refused(world: World, contacts: Any) -> None:
    with pytest.raises(ContactError) as phone:
        add_phone(world, number="600-100-123")  # OLD_PHONE written another way
    with pytest.raises(ContactError) as email:
        contact_email_add(
            organization=world.org_a,
            actor_membership=world.admin_a,
            email=OLD_EMAIL.upper(),
            label="",
            password=PASSWORD,
            now=T0,
        )

    assert phone.value.message == str(ERR_DUPLICATE_PHONE)
    assert email.value.message == str(ERR_DUPLICATE_EMAIL)
    assert RegisteredPhone.objects.filter(organization=world.org_a).count() == 1
    assert RegisteredEmail.objects.filter(organization=world.org_a).count() == 2


def test_another_organization_may_register_the_same_number(world: World, contacts: Any) -> None:
    add_phone(world, number=B_PHONE)
    assert RegisteredPhone.objects.filter(number=B_PHONE).count() == 2


# --- Services: who may, and the password ---------------------------------------------------


def test_wrong_password_changes_nothing(world: World, contacts: Any) -> None:
    before = set(RegisteredPhone.objects.values_list("pk", flat=True))

    with pytest.raises(ContactError) as refused:
        add_phone(world, password="guess")
    with pytest.raises(ContactError):
        contact_remove(
            organization=world.org_a,
            actor_membership=world.admin_a,
            kind="phone",
            contact_id=contacts["old_phone"].pk,
            password="",
            now=T0,
        )

    assert refused.value.message == str(ERR_WRONG_PASSWORD)
    assert refused.value.field == "password"
    assert set(RegisteredPhone.objects.values_list("pk", flat=True)) == before
    assert notices() == []
    refusals = ContactChange.objects.filter(action=ContactAction.REFUSED)
    assert list(refusals.values_list("reason", flat=True)) == ["wrong_password"] * 2


def test_five_wrong_passwords_refuse_even_the_right_one_for_fifteen_minutes(
    world: World, contacts: Any
) -> None:
    for minute in range(4):
        with pytest.raises(ContactError) as refused:
            add_phone(world, password="guess", now=T0 + timedelta(minutes=minute))
        assert refused.value.code == "wrong_password"
    with pytest.raises(ContactError) as fifth:
        add_phone(world, password="guess", now=T0 + timedelta(minutes=4))
    assert fifth.value.code == "throttled"
    assert "15 more minutes" in fifth.value.message

    with pytest.raises(ContactError) as locked:
        add_phone(world, now=T0 + timedelta(minutes=10))  # the right password
    assert locked.value.code == "throttled"
    assert "9 more minutes" in locked.value.message
    assert not RegisteredPhone.objects.filter(number=NEW_PHONE_E164).exists()

    # Fifteen minutes after the fifth wrong password, the right one works again.
    add_phone(world, now=T0 + timedelta(minutes=19))
    assert RegisteredPhone.objects.filter(number=NEW_PHONE_E164).exists()


def test_the_lock_is_per_user(world: World, contacts: Any) -> None:
    second = MembershipFactory(organization=world.org_a, role=Role.GLOBAL_ADMIN)
    for minute in range(5):
        with pytest.raises(ContactError):
            add_phone(world, password="guess", now=T0 + timedelta(minutes=minute))

    add_phone(world, actor_membership=second, now=T0 + timedelta(minutes=6))
    assert RegisteredPhone.objects.filter(number=NEW_PHONE_E164).exists()


@pytest.mark.parametrize("role", [Role.BILLING_ADMIN, Role.SERVICE_SUPPORT_ADMIN, Role.USER])
def test_only_global_admins_change_contacts(world: World, contacts: Any, role: str) -> None:
    other = MembershipFactory(organization=world.org_a, role=role)

    with pytest.raises(ContactError) as add:
        add_phone(world, actor_membership=other)
    with pytest.raises(ContactError) as remove:
        contact_remove(
            organization=world.org_a,
            actor_membership=other,
            kind="email",
            contact_id=contacts["old_email"].pk,
            password=PASSWORD,
            now=T0,
        )

    assert add.value.message == remove.value.message == str(ERR_NOT_GLOBAL_ADMIN)
    assert add.value.code == "forbidden"
    assert RegisteredEmail.objects.filter(pk=contacts["old_email"].pk).exists()
    assert not RegisteredPhone.objects.filter(number=NEW_PHONE_E164).exists()
    assert ContactChange.objects.filter(reason="forbidden").count() == 2


def test_a_global_admin_of_another_organization_is_refused(world: World, contacts: Any) -> None:
    with pytest.raises(ContactError):
        add_phone(world, actor_membership=world.admin_b)
    with pytest.raises(ContactError):
        contact_remove(
            organization=world.org_a,
            actor_membership=world.admin_a,
            kind="phone",
            contact_id=contacts["b_phone"].pk,  # org_b's contact, through org_a
            password=PASSWORD,
            now=T0,
        )
    assert RegisteredPhone.objects.filter(pk=contacts["b_phone"].pk).exists()
    assert not RegisteredPhone.objects.filter(number=NEW_PHONE_E164).exists()


# --- Services: notices ---------------------------------------------------------------------


def test_adding_tells_the_old_email_contacts_and_global_admins_after_commit(
    world: World, contacts: Any, django_capture_on_commit_callbacks: Any
) -> None:
    second = MembershipFactory(organization=world.org_a, role=Role.GLOBAL_ADMIN)
    MembershipFactory(organization=world.org_a, role=Role.BILLING_ADMIN)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        contact_email_add(
            organization=world.org_a,
            actor_membership=world.admin_a,
            email="intruder@evil.test",
            label="",
            password=PASSWORD,
            now=T0,
        )
    assert notices() == []  # nothing is sent before the commit
    assert len(callbacks) == 1
    callbacks[0]()

    assert recipients() == {
        OLD_EMAIL,
        COOLING_EMAIL,  # in its cool-off, still an old contact
        world.admin_a.user.email,
        second.user.email,
    }
    assert all(len(m.to) == 1 for m in notices())  # nobody sees another reader's address
    assert "intruder@evil.test" not in recipients()
    assert world.user_a.user.email not in recipients()
    assert world.admin_b.user.email not in recipients()
    assert "told by e-mail" in ContactChange.objects.get(action="email_added").outcome


def test_removing_tells_the_removed_address_too(
    world: World, contacts: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        contact_remove(
            organization=world.org_a,
            actor_membership=world.admin_a,
            kind="email",
            contact_id=contacts["old_email"].pk,
            password=PASSWORD,
            now=T0,
        )

    assert not RegisteredEmail.objects.filter(pk=contacts["old_email"].pk).exists()
    assert recipients() == {OLD_EMAIL, COOLING_EMAIL, world.admin_a.user.email}
    assert "i***@alpha.test" in notices()[0].body


def test_notice_masks_values_says_who_and_when_and_what_to_do(
    world: World, contacts: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world.admin_a.user.full_name = "Ada Admin"
    world.admin_a.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        add_phone(world)

    (notice,) = [m for m in notices() if m.to == [OLD_EMAIL]]
    html = notice.alternatives[0][0]
    for text in (notice.subject, notice.body, html):
        assert NEW_PHONE_E164 not in text
        assert "600 100 200" not in text
        assert world.admin_a.user.email not in text
    assert notice.subject == "The registered contacts of Alpha Corp changed"
    assert "+48 *** *** 200" in notice.body and "+48 *** *** 200" in html
    assert "Ada Admin" in notice.body
    # T0 is 12:00 in Warsaw; the cool-off ends two days later at the same hour.
    assert "10 Jun 2026, 12:00 Warsaw time" in notice.body
    assert "12 Jun 2026, 12:00 Warsaw time" in notice.body
    assert "If this wasn't you" in notice.body
    assert "contact support" in notice.body
    assert notice.extra_headers["Auto-Submitted"] == "auto-generated"


def test_notice_is_polish_for_a_polish_admin(
    world: World, contacts: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world.admin_a.user.language = "pl"
    world.admin_a.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        add_phone(world)

    (notice,) = [m for m in notices() if m.to == [world.admin_a.user.email]]
    assert notice.subject == "Zmieniono zarejestrowane kontakty organizacji Alpha Corp"
    assert "dodał(a) numer telefonu +48 *** *** 200" in notice.body
    assert "Jeśli to nie Ty" in notice.body
    assert NEW_PHONE_E164 not in notice.body
    assert '<html lang="pl">' in notice.alternatives[0][0]


def test_notice_times_read_in_the_admins_own_zone(
    world: World, contacts: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world.admin_a.user.time_zone = "Asia/Tokyo"
    world.admin_a.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        add_phone(world)

    (own,) = [m for m in notices() if m.to == [world.admin_a.user.email]]
    # T0 is 19:00 in Tokyo; the others keep the organization's zone.
    assert "10 Jun 2026, 19:00 Tokyo time" in own.body
    assert "Warsaw time" not in own.body
    (other,) = [m for m in notices() if m.to == [OLD_EMAIL]]
    assert "10 Jun 2026, 12:00 Warsaw time" in other.body


def test_a_mail_failure_does_not_undo_the_change(
    world: World, contacts: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "tests.tenants.test_contacts.BrokenBackend"
    with django_capture_on_commit_callbacks(execute=True):
        phone = add_phone(world)

    assert RegisteredPhone.objects.filter(pk=phone.pk).exists()
    assert "NOT sent" in ContactChange.objects.get(action="phone_added").outcome


class BrokenBackend:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> BrokenBackend:
        raise ConnectionRefusedError("smtp down")

    def __exit__(self, *args: object) -> None:
        pass


# --- Portal pages --------------------------------------------------------------------------


def test_global_admin_sees_full_values_and_their_status(
    world: World, contacts: Any, client: Client, frozen: None
) -> None:
    client.force_login(world.admin_a.user)
    response = client.get(contacts_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert OLD_EMAIL in html and COOLING_EMAIL in html
    assert "+48 600 100 123" in html
    assert "Receives codes" in html
    # Registered an hour before T0, so usable 47 hours after it: 09:00 UTC, 11:00 in Warsaw.
    assert "In cool-off until 12 Jun 2026, 11:00 (Warsaw time)" in html
    assert "48 hours after registration" in html
    assert "it@bravo.test" not in html and "601 200 300" not in html
    assert remove_url(contacts["old_phone"]) in html
    assert contacts_url("portal:contact_phone_add") in html


def test_cool_off_of_a_new_contact_is_shown(
    world: World, contacts: Any, client: Client, frozen: None
) -> None:
    client.force_login(world.admin_a.user)
    response = client.post(
        contacts_url("portal:contact_phone_add"),
        {"number": NEW_PHONE_NATIONAL, "label": "", "password": PASSWORD},
        follow=True,
    )

    html = response.content.decode()
    assert "+48 600 100 200 is registered" in html
    assert "In cool-off until 12 Jun 2026, 12:00 (Warsaw time)" in html
    phone = RegisteredPhone.objects.get(number=NEW_PHONE_E164)
    assert phone.active_from == T0 + timedelta(hours=48)


def test_add_and_remove_through_the_pages(
    world: World, contacts: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    client.force_login(world.admin_a.user)
    assert client.get(contacts_url("portal:contact_email_add")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(
            contacts_url("portal:contact_email_add"),
            {"email": "ops@alpha.test", "label": "Ops", "password": PASSWORD},
        )
    assert added.status_code == 302
    assert added["Location"] == contacts_url()
    registered = RegisteredEmail.objects.get(email="ops@alpha.test")
    assert recipients() == {OLD_EMAIL, COOLING_EMAIL, world.admin_a.user.email}

    mail.outbox.clear()
    confirm = client.get(remove_url(registered))
    assert confirm.status_code == 200
    assert "ops@alpha.test" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        removed = client.post(remove_url(registered), {"password": PASSWORD})
    assert removed.status_code == 302
    assert not RegisteredEmail.objects.filter(pk=registered.pk).exists()
    assert "ops@alpha.test" in recipients()


def test_wrong_password_on_the_page_is_a_form_error(
    world: World, contacts: Any, client: Client
) -> None:
    client.force_login(world.admin_a.user)
    response = client.post(remove_url(contacts["old_phone"]), {"password": "guess"})

    assert response.status_code == 200
    assert response.context["form"].errors["password"] == [str(ERR_WRONG_PASSWORD)]
    assert RegisteredPhone.objects.filter(pk=contacts["old_phone"].pk).exists()
    assert notices() == []


def test_invalid_and_duplicate_phone_are_form_errors(
    world: World, contacts: Any, client: Client
) -> None:
    client.force_login(world.admin_a.user)
    url = contacts_url("portal:contact_phone_add")

    invalid = client.post(url, {"number": "12345", "password": PASSWORD})
    duplicate = client.post(url, {"number": "+48 600 100 123", "password": PASSWORD})

    assert invalid.status_code == duplicate.status_code == 200
    assert invalid.context["form"].errors["number"] == [str(ERR_INVALID_PHONE)]
    assert duplicate.context["form"].errors["number"] == [str(ERR_DUPLICATE_PHONE)]
    assert RegisteredPhone.objects.filter(organization=world.org_a).count() == 1


def test_removing_the_last_usable_contact_is_warned_but_allowed(
    world: World, client: Client, frozen: None
) -> None:
    now = T0
    only = RegisteredPhone.objects.create(
        organization=world.org_a,
        number=OLD_PHONE,
        created_at=now - timedelta(days=5),
        active_from=now - timedelta(days=3),
    )
    RegisteredEmail.objects.create(
        organization=world.org_a, email=COOLING_EMAIL, active_from=now + timedelta(hours=40)
    )
    client.force_login(world.admin_a.user)

    confirm = client.get(remove_url(only)).content.decode()
    assert "This is the last contact that can receive verification codes now" in confirm

    client.post(remove_url(only), {"password": PASSWORD})
    assert not RegisteredPhone.objects.filter(pk=only.pk).exists()
    listing = client.get(contacts_url()).content.decode()
    assert "No registered contact is past its 48-hour cool-off" in listing


def test_billing_admin_sees_the_list_read_only_and_masked(
    world: World, contacts: Any, billing_a: Membership, client: Client
) -> None:
    client.force_login(billing_a.user)
    listing = client.get(contacts_url())

    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Only global admins can add or remove registered contacts" in html
    assert "i***@alpha.test" in html and "+48 *** *** 123" in html
    assert OLD_EMAIL not in html and "600 100 123" not in html
    assert contacts_url("portal:contact_phone_add") not in html
    assert remove_url(contacts["old_phone"]) not in html


def test_billing_admin_is_refused_on_the_change_pages(
    world: World, contacts: Any, billing_a: Membership, client: Client
) -> None:
    client.force_login(billing_a.user)
    pages = [
        (contacts_url("portal:contact_phone_add"), {"number": "+48600100200"}),
        (contacts_url("portal:contact_email_add"), {"email": "x@alpha.test"}),
        (remove_url(contacts["old_phone"]), {}),
    ]
    for url, data in pages:
        for response in (
            client.get(url),
            client.post(url, {**data, "password": PASSWORD}),
        ):
            assert response.status_code == 403, url
            assert str(ERR_NOT_GLOBAL_ADMIN) in response.content.decode()
            assert '<form method="post" action="/portal/alpha/contacts' not in (
                response.content.decode()
            )
    assert RegisteredPhone.objects.filter(pk=contacts["old_phone"].pk).exists()
    assert RegisteredPhone.objects.filter(organization=world.org_a).count() == 1
    assert not RegisteredEmail.objects.filter(email="x@alpha.test").exists()
    assert ContactChange.objects.filter(reason="forbidden").count() == 3  # the POSTs


def test_plain_user_gets_the_ask_your_admin_page(
    world: World, contacts: Any, client: Client
) -> None:
    client.force_login(world.user_a.user)
    urls = [
        contacts_url(),
        contacts_url("portal:contact_phone_add"),
        contacts_url("portal:contact_email_add"),
        remove_url(contacts["old_phone"]),
    ]
    for url in urls:
        for response in (client.get(url), client.post(url, {"password": PASSWORD})):
            assert response.status_code == 200, url
            assert "portal/ask_admin.html" in [t.name for t in response.templates], url
            assert OLD_PHONE not in response.content.decode()
    assert RegisteredPhone.objects.filter(pk=contacts["old_phone"].pk).exists()


def test_another_tenants_contact_answers_404(world: World, contacts: Any, client: Client) -> None:
    client.force_login(world.admin_a.user)
    foreign = [
        remove_url(contacts["b_phone"]),  # A's slug, B's id
        remove_url(contacts["b_email"]),
        remove_url(contacts["b_phone"], org="bravo"),  # B's slug
        contacts_url(org="bravo"),
        contacts_url("portal:contact_phone_add", org="bravo"),
        # An id that is no contact, an unknown kind, and an id too big for the database.
        contacts_url("portal:contact_remove", kind="email", contact=987654),
        contacts_url("portal:contact_remove", kind="fax", contact=contacts["old_phone"].pk),
        contacts_url("portal:contact_remove", kind="phone", contact=10**30),
    ]
    for url in foreign:
        for response in (client.get(url), client.post(url, {"password": PASSWORD})):
            assert response.status_code == 404, url
            assert b"Bravo" not in response.content
    assert RegisteredPhone.objects.filter(pk=contacts["b_phone"].pk).exists()
    assert RegisteredEmail.objects.filter(pk=contacts["b_email"].pk).exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"number": "\x00", "password": PASSWORD},
        {"number": "+48 600 100 200" * 50, "password": PASSWORD},
        {"number": "٦٠٠١٠٠٢٠٠", "label": "x" * 5000, "password": PASSWORD},
        {"number": ["a", "b"], "password": ["x", "y"]},
        {"email": "a@b.c\x00", "number": "<script>", "password": "\x00"},
    ],
)
def test_garbage_input_never_answers_500(
    world: World, contacts: Any, client: Client, data: dict[str, Any]
) -> None:
    client.force_login(world.admin_a.user)
    for url in (
        contacts_url("portal:contact_phone_add"),
        contacts_url("portal:contact_email_add"),
        remove_url(contacts["old_phone"]),
    ):
        response = client.post(url, data)
        assert response.status_code in (200, 302), (url, response.status_code)
        assert b"<script>" not in response.content


def test_home_links_global_admins_to_the_contacts(
    world: World, billing_a: Membership, client: Client
) -> None:
    client.force_login(world.admin_a.user)
    assert (
        contacts_url()
        in client.get(reverse("portal:home", kwargs={"org": "alpha"})).content.decode()
    )
    client.force_login(billing_a.user)
    assert (
        contacts_url()
        not in client.get(reverse("portal:home", kwargs={"org": "alpha"})).content.decode()
    )


def test_pages_carry_no_inline_script_or_style(world: World, contacts: Any, client: Client) -> None:
    client.force_login(world.admin_a.user)
    for url in (
        contacts_url(),
        contacts_url("portal:contact_phone_add"),
        contacts_url("portal:contact_email_add"),
        remove_url(contacts["old_phone"]),
    ):
        html = client.get(url).content.decode()
        assert " style=" not in html, url
        assert " onclick=" not in html and " onsubmit=" not in html, url
        assert "<script>" not in html, url
