"""The desk's "Phone call" pages through the test client: taking a call, verifying the
caller by a registered number or a code (POL-PIN-1..3), the account page and the phone
intake only within a verified call of that agent, and nothing else for anyone else."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from time_machine import TimeMachineFixture

from helpcenter.models import Service
from tenants.models import Partner
from tests.conftest import World
from tests.verification.conftest import (
    REGISTERED_PHONE,
    UNREGISTERED_CALLER,
    Contacts,
    People,
    last_code,
    wrong,
)
from tickets.models import Channel, Ticket
from tickets.services import ERR_NO_CONTACT, ERR_PHONE_FOR_PHONE
from verification import delivery
from verification.models import Call, OrganizationPinState, PinChallenge, VerifiedBy
from verification.pins import PinPolicy
from verification.selectors import code_limit
from verification.services import (
    ERR_CODE_EXPIRED,
    ERR_CODE_FORMAT,
    ERR_CODE_INVALID,
    ERR_CODE_USED_UP,
    ERR_COOLING_OFF,
    ERR_INVALID_NUMBER,
    ERR_LOCKED,
    ERR_RATE_HOUR,
    ERR_VERIFIED_CALL_OPEN,
    ERR_VERIFY_FIRST,
    call_start,
    rate_limit_message,
)

pytestmark = pytest.mark.django_db

CALL_ROUTES = ("calls:verify", "calls:account", "calls:intake", "calls:end")
POST_ROUTES = ("calls:verify", "calls:intake", "calls:end")  # the account page is GET only


def url(name: str, call: Call | int) -> str:
    return reverse(name, kwargs={"call": call if isinstance(call, int) else call.pk})


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def flashed(response: object) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]


@pytest.fixture
def agent_client(client: Client, world: World) -> Client:
    client.force_login(world.agent)
    return client


@pytest.fixture
def verified(world: World, contacts: Contacts) -> Call:
    """A call to org_a from its registered number: verified at once (POL-PIN-3)."""
    return call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=REGISTERED_PHONE,
        now=timezone.now(),
    )


def send(client: Client, call: Call, value: str) -> object:
    return client.post(url("calls:verify", call), {"action": "send", "channel": value})


def check(client: Client, call: Call, code: str) -> object:
    return client.post(url("calls:verify", call), {"action": "check", "code": code})


# --- Taking a call -------------------------------------------------------------------------


def test_the_desk_links_to_phone_calls(agent_client: Client) -> None:
    response = agent_client.get(reverse("desk:home"))
    assert f'href="{reverse("calls:start")}"' in text(response)


def test_the_start_page_offers_every_organization(agent_client: Client, world: World) -> None:
    response = agent_client.get(reverse("calls:start"))
    assert response.status_code == 200
    options = response.context["form"].fields["organization"].queryset
    assert list(options) == [world.org_a, world.org_b]


@pytest.mark.parametrize("query", ["brav", "BRAVO", "Inc"])
def test_the_organization_search_narrows_the_list_server_side(
    agent_client: Client, world: World, query: str
) -> None:
    response = agent_client.get(reverse("calls:start"), {"q": query})
    form = response.context["form"]
    assert list(form.fields["organization"].queryset) == [world.org_b]
    # A single match is chosen already.
    assert form["organization"].value() == world.org_b.pk
    assert world.org_a.name not in text(response)


def test_the_search_answers_htmx_with_the_list(agent_client: Client, world: World) -> None:
    response = agent_client.get(reverse("calls:start"), {"q": "alpha"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="id_organization"' in text(response)
    assert world.org_b.name not in text(response)


def test_a_registered_number_opens_the_account_at_once(
    agent_client: Client, world: World, contacts: Contacts
) -> None:
    response = agent_client.post(
        reverse("calls:start"),
        {"organization": world.org_a.pk, "caller_number": "600 100 123"},
    )
    call = Call.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("calls:account", call)
    assert call.verified_by == VerifiedBy.REGISTERED_NUMBER

    page = agent_client.get(response["Location"])
    assert page.status_code == 200
    assert "Verified: registered number" in text(page)


def test_an_unregistered_number_goes_to_the_verify_page(
    agent_client: Client, world: World, contacts: Contacts
) -> None:
    response = agent_client.post(
        reverse("calls:start"),
        {"organization": world.org_a.pk, "caller_number": UNREGISTERED_CALLER},
    )
    call = Call.objects.get()
    assert response["Location"] == url("calls:verify", call)
    assert call.verified_at is None


@pytest.mark.parametrize("typed", ["12", "not a number", "+999 600 100 123"])
def test_an_invalid_number_is_a_form_error(
    agent_client: Client, world: World, contacts: Contacts, typed: str
) -> None:
    response = agent_client.post(
        reverse("calls:start"), {"organization": world.org_a.pk, "caller_number": typed}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["caller_number"] == [
        str(ERR_INVALID_NUMBER % {"number": typed})
    ]
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"organization": "", "caller_number": ""},
        {"organization": "999999", "caller_number": REGISTERED_PHONE},
        {"organization": "alpha", "caller_number": REGISTERED_PHONE},
        {"organization": "99999999999999999999999", "caller_number": REGISTERED_PHONE},
        {"organization": "1", "caller_number": "x" * 500},
    ],
)
def test_bad_start_input_is_a_form_error(
    agent_client: Client, contacts: Contacts, data: dict[str, str]
) -> None:
    response = agent_client.post(reverse("calls:start"), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Call.objects.exists()


def test_recent_calls_are_listed_open_first(
    agent_client: Client, world: World, people: People, contacts: Contacts
) -> None:
    now = timezone.now()
    older = call_start(
        agent=world.agent, organization=world.org_b, caller_number=UNREGISTERED_CALLER, now=now
    )
    current = call_start(
        agent=world.agent,
        organization=world.org_a,
        caller_number=REGISTERED_PHONE,
        now=now - timedelta(minutes=5),  # started earlier, but the one still open
    )
    theirs = call_start(
        agent=people.agent2, organization=world.org_a, caller_number=REGISTERED_PHONE, now=now
    )

    response = agent_client.get(reverse("calls:start"))
    listed = list(response.context["recent_calls"])
    assert listed == [current, older]
    assert theirs not in listed
    assert url("calls:account", current) in text(response)


# --- Verifying the caller ------------------------------------------------------------------


def test_the_verify_page_shows_contacts_masked_with_their_cool_off(
    agent_client: Client, world: World, contacts: Contacts, call: Call
) -> None:
    response = agent_client.get(url("calls:verify", call))
    body = text(response)
    assert response.status_code == 200
    assert world.org_a.name in body
    assert call.caller_number.as_international in body
    for visible in ("p***@example.test", "+48 *** *** 123", "n***@alpha.test", "+48 *** *** 999"):
        assert visible in body
    for secret in (contacts.email.email, "600 100 123", "new.contact@", world.admin_b.user.email):
        assert secret not in body
    # Contacts in their cool-off cannot be chosen and say when they can.
    disabled = re.findall(r'<input type="radio"[^>]* disabled[^>]*>', body)
    assert len(disabled) == 2
    assert body.count("receives codes from") == 2
    assert 'value="end' not in body
    assert f'action="{url("calls:end", call)}"' in body


def test_send_a_code_by_email_and_verify(
    agent_client: Client, world: World, contacts: Contacts, call: Call
) -> None:
    response = send(agent_client, call, f"email:{contacts.email.pk}")
    assert response.status_code == 302
    assert response["Location"] == url("calls:verify", call)
    page = agent_client.get(response["Location"])
    assert "Code sent by e-mail to p***@example.test" in text(page)
    assert 'autocomplete="one-time-code"' in text(page)

    response = check(agent_client, call, last_code())
    assert response.status_code == 302
    assert response["Location"] == url("calls:account", call)
    call.refresh_from_db()
    assert call.verified_by == VerifiedBy.PIN
    account = agent_client.get(response["Location"])
    assert account.status_code == 200
    assert "Caller verified." in text(account)
    assert "Verified: code." in text(account)


def test_send_a_code_by_sms_and_verify(
    agent_client: Client,
    contacts: Contacts,
    call: Call,
    sms_outbox: list[delivery.SmsMessage],
) -> None:
    send(agent_client, call, f"phone:{contacts.phone.pk}")
    assert [m.to for m in sms_outbox] == [REGISTERED_PHONE]

    # The caller may read the code with spaces.
    code = last_code(sms_outbox)
    response = check(agent_client, call, f"{code[:4]} {code[4:]}")
    assert response["Location"] == url("calls:account", call)


def test_a_wrong_code_gets_the_generic_message_and_no_access(
    agent_client: Client, contacts: Contacts, call: Call
) -> None:
    send(agent_client, call, f"email:{contacts.email.pk}")
    response = check(agent_client, call, wrong(last_code()))

    assert response.status_code == 200
    assert response.context["check_form"].errors["code"] == [str(ERR_CODE_INVALID)]
    assert str(ERR_CODE_INVALID) in text(response).replace("&#x27;", "'")
    call.refresh_from_db()
    assert call.verified_at is None
    assert agent_client.get(url("calls:account", call)).status_code == 403


def test_an_expired_code_says_it_expired(
    agent_client: Client, contacts: Contacts, call: Call, clock: TimeMachineFixture
) -> None:
    send(agent_client, call, f"email:{contacts.email.pk}")
    code = last_code()
    clock.shift(timedelta(minutes=11))
    response = check(agent_client, call, code)
    expired = str(ERR_CODE_EXPIRED % {"minutes": 10})
    assert response.context["check_form"].errors["code"] == [expired]
    assert "send a new one" in expired


def test_after_five_wrong_tries_the_code_is_used_up(
    agent_client: Client, contacts: Contacts, call: Call
) -> None:
    send(agent_client, call, f"email:{contacts.email.pk}")
    code = last_code()
    for _ in range(4):
        response = check(agent_client, call, wrong(code))
        assert response.context["check_form"].errors["code"] == [str(ERR_CODE_INVALID)]
    used_up = "This code is used up (5 wrong tries) — send a new one."
    assert str(ERR_CODE_USED_UP % {"count": 5}) == used_up
    assert check(agent_client, call, wrong(code)).context["check_form"].errors["code"] == [used_up]

    # The right digits now: still refused, and the page says why, not "not valid".
    response = check(agent_client, call, code)
    assert response.context["check_form"].errors["code"] == [used_up]
    assert used_up in text(response)
    assert "not valid" not in text(response)
    call.refresh_from_db()
    assert call.verified_at is None


def test_a_code_from_an_earlier_call_fails_in_the_next(
    agent_client: Client, world: World, contacts: Contacts, call: Call
) -> None:
    send(agent_client, call, f"email:{contacts.email.pk}")
    code = last_code()
    agent_client.post(
        reverse("calls:start"),
        {"organization": world.org_a.pk, "caller_number": UNREGISTERED_CALLER},
    )
    next_call = Call.objects.exclude(pk=call.pk).get()

    response = check(agent_client, next_call, code)
    assert response.context["check_form"].errors["code"] == [str(ERR_CODE_INVALID)]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("abcdefgh", str(ERR_CODE_FORMAT % {"length": 8})),
        ("1234", str(ERR_CODE_FORMAT % {"length": 8})),
        ("１２３４５６７８", str(ERR_CODE_FORMAT % {"length": 8})),
        ("", "Type the code the caller reads out."),
        ("9" * 200, "Ensure this value has at most 32 characters (it has 200)."),
    ],
)
def test_a_malformed_code_is_a_form_error(
    agent_client: Client, contacts: Contacts, call: Call, entry: str, message: str
) -> None:
    send(agent_client, call, f"email:{contacts.email.pk}")
    response = check(agent_client, call, entry)
    assert response.status_code == 200
    assert response.context["check_form"].errors["code"] == [message]


def test_a_contact_in_its_cool_off_is_refused_with_the_services_message(
    agent_client: Client, contacts: Contacts, call: Call
) -> None:
    response = send(agent_client, call, f"email:{contacts.cooling_email.pk}")
    assert response.status_code == 200
    assert response.context["send_form"].non_field_errors() == [str(ERR_COOLING_OFF)]
    assert not PinChallenge.objects.exists()
    assert not mail.outbox


@pytest.mark.parametrize(
    "value", ["", "email:abc", "fax:1", "email:", "email:99999999999999999999999", "phone"]
)
def test_a_garbage_channel_is_a_form_error(
    agent_client: Client, contacts: Contacts, call: Call, value: str
) -> None:
    response = send(agent_client, call, value)
    assert response.status_code == 200
    assert response.context["send_form"].errors
    assert not PinChallenge.objects.exists()


def test_another_organizations_contact_is_not_a_choice(
    agent_client: Client, contacts: Contacts, call: Call
) -> None:
    response = send(agent_client, call, f"email:{contacts.other_org_email.pk}")
    assert response.context["send_form"].errors["channel"]
    assert not PinChallenge.objects.exists()
    assert not mail.outbox


def test_the_rate_limit_message_is_the_services(
    agent_client: Client, contacts: Contacts, call: Call
) -> None:
    for _ in range(3):
        assert send(agent_client, call, f"email:{contacts.email.pk}").status_code == 302
    first = PinChallenge.objects.order_by("pk").first()
    assert first is not None
    next_at = timezone.localtime(first.created_at + timedelta(hours=1))
    expected = str(ERR_RATE_HOUR % {"count": 3, "time": f"{next_at:%H:%M} UTC"})
    response = send(agent_client, call, f"email:{contacts.email.pk}")
    assert response.context["send_form"].non_field_errors() == [expected]
    assert PinChallenge.objects.count() == 3


def _send_button(page: str) -> str:
    found = re.search(r'<button[^>]*name="action" value="send"[^>]*>', page)
    assert found is not None
    return found.group(0)


def test_at_the_limit_the_page_gives_the_next_time_in_the_agents_zone_and_disables_send(
    agent_client: Client, world: World, contacts: Contacts, call: Call, clock: TimeMachineFixture
) -> None:
    for _ in range(3):
        assert send(agent_client, call, f"email:{contacts.email.pk}").status_code == 302
        clock.shift(timedelta(minutes=10))
    first = PinChallenge.objects.order_by("pk").first()
    assert first is not None

    page = text(agent_client.get(url("calls:verify", call)))
    # The first code leaves the hour an hour after it was sent, read in the agent's zone.
    local = timezone.localtime(first.created_at + timedelta(hours=1))
    assert f"Next code possible at {local:%H:%M} UTC." in page  # the desk's zone, named
    assert "disabled" in _send_button(page)
    assert 'aria-describedby="code-limit"' in _send_button(page)
    limit = code_limit(organization_id=world.org_a.pk, now=timezone.now(), policy=PinPolicy())
    assert limit is not None and limit.per == "hour"
    assert limit.next_at == first.created_at + timedelta(hours=1)
    warsaw = timezone.localtime(limit.next_at, ZoneInfo("Europe/Warsaw"))
    with timezone.override("Europe/Warsaw"):
        assert f"Next code possible at {warsaw:%H:%M} Warsaw time." in rate_limit_message(limit)

    # Once the hour has passed, the button is back (on a new call: this one has ended).
    clock.shift(timedelta(minutes=30))
    agent_client.post(
        reverse("calls:start"),
        {"organization": world.org_a.pk, "caller_number": UNREGISTERED_CALLER},
    )
    page = text(agent_client.get(url("calls:verify", Call.objects.latest("pk"))))
    assert "Next code possible" not in page
    assert "disabled" not in _send_button(page)


def test_a_locked_organization_shows_the_lock_and_sends_nothing(
    agent_client: Client, world: World, contacts: Contacts, call: Call
) -> None:
    OrganizationPinState.objects.create(organization=world.org_a, locked_at=timezone.now())
    page = agent_client.get(url("calls:verify", call))
    assert str(ERR_LOCKED) in text(page)
    assert 'name="channel"' not in text(page)

    response = send(agent_client, call, f"email:{contacts.email.pk}")
    assert response.context["send_form"].non_field_errors() == [str(ERR_LOCKED)]
    assert not mail.outbox


def test_the_verify_page_of_a_verified_or_ended_call(agent_client: Client, verified: Call) -> None:
    page = agent_client.get(url("calls:verify", verified))
    assert "The caller is verified" in text(page)
    assert url("calls:account", verified) in text(page)

    agent_client.post(url("calls:end", verified))
    page = agent_client.get(url("calls:verify", verified))
    assert page.status_code == 200
    assert "This call has ended" in text(page)
    assert 'name="channel"' not in text(page)


# --- The account page and the refusals -----------------------------------------------------


def test_the_account_page_shows_the_organization(
    agent_client: Client, world: World, verified: Call
) -> None:
    world.org_a.partner = Partner.objects.create(
        name="Northwind Partners",
        phone="+48221234567",
        email="help@northwind.test",
        url="https://northwind.test/",
    )
    world.org_a.save()
    mine = world.file(title="Mailbox migration stalls")
    world.file(world.admin_b, title="Bravo's own problem")
    resolved = world.file(title="Already solved")
    Ticket.objects.filter(pk=resolved.pk).update(status="resolved")

    response = agent_client.get(url("calls:account", verified))
    body = text(response)
    assert response.status_code == 200
    assert "Advanced (premium)" in body
    assert "Northwind Partners" in body
    assert "help@northwind.test" in body
    assert "+48 22 123 45 67" in body
    assert mine.reference in body
    assert mine.title in body
    # Each request links to its desk page.
    assert f'href="{reverse("desk:ticket", kwargs={"number": mine.pk})}"' in body
    assert "Bravo&#x27;s own problem" not in body
    assert "Already solved" not in body
    assert world.admin_a.user.full_name in body
    assert "Global admin" in body
    assert world.admin_a.user.email not in body
    assert "p***@example.test" in body
    assert "+48 *** *** 123" in body
    assert world.user_a.user.full_name not in body  # not an admin
    assert response.context["minutes_left"] == 60
    assert url("calls:intake", verified) in body
    assert url("calls:end", verified) in body


def test_the_account_page_costs_the_same_queries_for_a_big_organization(
    agent_client: Client, world: World, people: People, verified: Call
) -> None:
    world.file()
    agent_client.get(url("calls:account", verified))  # warm the session and caches
    with CaptureQueriesContext(connection) as small:
        agent_client.get(url("calls:account", verified))
    for n in range(8):
        world.file(title=f"Problem {n}")
    with CaptureQueriesContext(connection) as big:
        response = agent_client.get(url("calls:account", verified))
    assert len(response.context["open_tickets"]) == 9
    assert len(big) == len(small)


def test_the_account_page_query_pin(
    agent_client: Client,
    world: World,
    people: People,
    verified: Call,
    django_assert_max_num_queries,
) -> None:
    for n in range(5):
        world.file(title=f"Problem {n}")
    agent_client.get(url("calls:account", verified))
    # Session, user, the session's second factor, the call, its access check, admins, open
    # tickets, registered e-mails, registered phones, the header's memberships, the desk's
    # worker-health banner, the unread notices (the bell).
    with django_assert_max_num_queries(12):
        agent_client.get(url("calls:account", verified))


@pytest.mark.parametrize("route", ["calls:account", "calls:intake"])
def test_the_account_is_refused_without_verification(
    agent_client: Client, contacts: Contacts, call: Call, route: str
) -> None:
    response = agent_client.get(url(route, call))
    assert response.status_code == 403
    assert "desk/calls/verify_first.html" in [t.name for t in response.templates]
    assert str(ERR_VERIFY_FIRST) in text(response).replace("&#x27;", "'")
    assert url("calls:verify", call) in text(response)
    assert "p***@example.test" not in text(response)


@pytest.mark.parametrize("route", ["calls:account", "calls:intake"])
def test_the_account_is_refused_after_the_call_ends(
    agent_client: Client, world: World, verified: Call, route: str
) -> None:
    assert agent_client.get(url(route, verified)).status_code == 200
    response = agent_client.post(url("calls:end", verified))
    assert response["Location"] == reverse("calls:start")
    verified.refresh_from_db()
    assert verified.ended_at is not None

    response = agent_client.get(url(route, verified))
    assert response.status_code == 403
    assert "desk/calls/verify_first.html" in [t.name for t in response.templates]
    assert world.admin_a.user.full_name not in text(response)
    assert agent_client.post(url("calls:intake", verified), {"title": "x"}).status_code == 403
    assert not Ticket.objects.exists()


def test_the_account_is_refused_after_sixty_minutes(
    agent_client: Client, verified: Call, clock: TimeMachineFixture
) -> None:
    clock.shift(timedelta(minutes=59, seconds=59))
    assert agent_client.get(url("calls:account", verified)).status_code == 200
    clock.shift(timedelta(seconds=1))
    assert agent_client.get(url("calls:account", verified)).status_code == 403


def test_ending_a_call_asks_first_and_is_harmless_twice(
    agent_client: Client, verified: Call
) -> None:
    page = agent_client.get(url("calls:end", verified))
    assert page.status_code == 200
    verified.refresh_from_db()
    assert verified.ended_at is None

    response = agent_client.post(url("calls:end", verified), follow=True)
    assert "Access to its account is closed." in text(response)
    again = agent_client.post(url("calls:end", verified))
    assert again.status_code == 302


# --- Phone intake --------------------------------------------------------------------------

INTAKE = {
    "title": "Nobody can send mail",
    "description": "Every outgoing message bounces since 9:00.",
    "category": "technical",
    "impact": "service_down",
    "scope": "many",
    "business_impact": "Orders cannot be confirmed to customers.",
    "contact_24x7": "Ops desk, +48 22 000 00 00",
    "contact_phone": "512 345 679",
    "contact_email": "ops@alpha.test",
    "preferred_contact": "phone",
    "language": "pl",
}


def intake_data() -> dict[str, str]:
    """The phone intake's answers, with the product a technical request names."""
    return {**INTAKE, "product": str(Service.objects.get(slug="exchange-online").pk)}


def test_the_intake_form_is_prefilled_with_the_caller(
    agent_client: Client, world: World, verified: Call
) -> None:
    world.admin_a.user.language = "pl"
    world.admin_a.user.save()
    response = agent_client.get(url("calls:intake", verified))
    assert response.status_code == 200
    assert response.context["form"]["contact_phone"].value() == verified.caller_number
    # The organization's language (its global admin's), not the agent's English.
    assert response.context["form"]["language"].value() == "pl"
    # The organization's country reads the number (Poland: shown in national format).
    assert 'value="600 100 123"' in text(response)


def test_the_intake_files_a_phone_request(
    agent_client: Client, world: World, verified: Call
) -> None:
    response = agent_client.post(url("calls:intake", verified), intake_data())

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("calls:account", verified)
    assert ticket.organization == world.org_a
    assert ticket.channel == Channel.PHONE
    assert ticket.caller_phone == verified.caller_number
    assert str(ticket.contact_phone) == "+48512345679"
    assert ticket.created_by == world.agent
    assert ticket.language == "pl"
    # Service down for many, advanced contract, impact statement and 24x7 contact: A.
    assert ticket.severity == "A"
    assert flashed(response) == [
        f"Request {ticket.reference} filed for Alpha Corp with severity A – critical."
    ]
    account = agent_client.get(response["Location"])
    assert ticket.reference in text(account)


def test_the_severity_is_assessed_not_chosen(agent_client: Client, verified: Call) -> None:
    data = {**intake_data(), "business_impact": "", "contact_24x7": ""}
    agent_client.post(url("calls:intake", verified), data)
    ticket = Ticket.objects.get()
    assert ticket.severity == "B"
    assert ticket.original_severity == "B"
    assert ticket.severity_reason


@pytest.mark.parametrize("phone", ["12", "not a phone", "+999 600 100 123"])
def test_an_invalid_contact_phone_writes_nothing(
    agent_client: Client, verified: Call, phone: str
) -> None:
    response = agent_client.post(
        url("calls:intake", verified), {**intake_data(), "contact_phone": phone}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["contact_phone"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"contact_phone": "", "contact_email": ""}, "contact_email", ERR_NO_CONTACT),
        ({"contact_phone": "", "preferred_contact": "phone"}, "contact_phone", ERR_PHONE_FOR_PHONE),
    ],
)
def test_a_refusal_of_the_service_shows_on_its_field(
    agent_client: Client, verified: Call, changes: dict[str, str], field: str, message: object
) -> None:
    response = agent_client.post(url("calls:intake", verified), {**intake_data(), **changes})
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [str(message)]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {**INTAKE, "category": "gossip"},
        {**INTAKE, "impact": ""},
        {**INTAKE, "product": "999999"},
        {**INTAKE, "product": "mail"},
        {**INTAKE, "title": "x" * 500},
        {**INTAKE, "contact_email": "not-an-address"},
        {**INTAKE, "language": "xx"},
    ],
)
def test_bad_intake_input_is_a_form_error(
    agent_client: Client, verified: Call, data: dict[str, str]
) -> None:
    if data:  # every other answer right, the product included
        data = {**intake_data(), **data}
    response = agent_client.post(url("calls:intake", verified), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Ticket.objects.exists()


# --- Who may see what ----------------------------------------------------------------------


def test_another_agents_call_does_not_exist(
    client: Client, people: People, contacts: Contacts, verified: Call
) -> None:
    client.force_login(people.agent2)
    for route in CALL_ROUTES:
        assert client.get(url(route, verified)).status_code == 404, route
    for route in POST_ROUTES:
        assert client.post(url(route, verified), {"action": "check"}).status_code == 404, route
    verified.refresh_from_db()
    assert verified.ended_at is None


def test_a_supervisor_cannot_open_an_agents_call(
    client: Client, world: World, verified: Call
) -> None:
    client.force_login(world.supervisor)
    for route in CALL_ROUTES:
        assert client.get(url(route, verified)).status_code == 404, route


def test_customers_do_not_see_phone_calls(client: Client, world: World, verified: Call) -> None:
    for member in (world.admin_a, world.user_a):
        client.force_login(member.user)
        assert client.get(reverse("calls:start")).status_code == 404
        assert client.post(reverse("calls:start")).status_code == 404
        for route in CALL_ROUTES:
            assert client.get(url(route, verified)).status_code == 404, route
        for route in POST_ROUTES:
            assert client.post(url(route, verified)).status_code == 404, route
    assert Call.objects.count() == 1


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, verified: Call) -> None:
    for target in [reverse("calls:start")] + [url(route, verified) for route in CALL_ROUTES]:
        response = client.get(target)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "path",
    [
        "/desk/calls/999999/verify/",
        "/desk/calls/0/account/",
        "/desk/calls/abc/verify/",
        "/desk/calls/-1/intake/",
        "/desk/calls/99999999999999999999999/end/",
    ],
)
def test_garbage_call_ids_are_404(agent_client: Client, path: str) -> None:
    assert agent_client.get(path).status_code == 404
    if "/account/" not in path:  # GET only: a POST is 405 before any lookup
        assert agent_client.post(path).status_code == 404


def test_posts_need_the_csrf_token(world: World, contacts: Contacts) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.agent)
    response = client.post(
        reverse("calls:start"),
        {"organization": world.org_a.pk, "caller_number": REGISTERED_PHONE},
    )
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_the_pages_carry_no_inline_script_style_or_handler(
    agent_client: Client, contacts: Contacts, call: Call, verified: Call
) -> None:
    """A strict Content-Security-Policy comes later: nothing inline now."""
    pages = [reverse("calls:start"), url("calls:verify", call)] + [
        url(route, verified) for route in CALL_ROUTES
    ]
    for page in pages:
        body = text(agent_client.get(page))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), page
        assert not re.search(r"\sstyle=", body), page
        assert not re.search(r"\son[a-z]+=", body), page


# --- A second call while one is verified ---------------------------------------------------


def test_a_second_call_asks_before_ending_a_verified_one(
    agent_client: Client, world: World, verified: Call
) -> None:
    start = {"organization": world.org_b.pk, "caller_number": UNREGISTERED_CALLER}
    response = agent_client.post(reverse("calls:start"), start)

    assert response.status_code == 200
    body = html.unescape(text(response))
    assert str(ERR_VERIFIED_CALL_OPEN % {"org": world.org_a.name}) in body
    assert 'name="end_verified" value="1"' in body
    assert Call.objects.count() == 1
    verified.refresh_from_db()
    assert verified.ended_at is None  # nothing ended without the agent's word

    confirmed = agent_client.post(reverse("calls:start"), {**start, "end_verified": "1"})
    new = Call.objects.exclude(pk=verified.pk).get()
    assert confirmed["Location"] == url("calls:verify", new)
    verified.refresh_from_db()
    assert verified.ended_at is not None


def test_an_unverified_call_is_replaced_without_asking(
    agent_client: Client, world: World, call: Call
) -> None:
    response = agent_client.post(
        reverse("calls:start"),
        {"organization": world.org_b.pk, "caller_number": UNREGISTERED_CALLER},
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.ended_at is not None
