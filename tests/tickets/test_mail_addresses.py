"""Reply addresses of ticket mail: signed per ticket and recipient, parsed back, checked.

No database: only settings (SECRET_KEY, MAILIN_ADDRESS, TICKET_PREFIX) are read."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from django.conf import settings

from tickets.mail import (
    REPLY_ABOVE_MARKER,
    parse_reply_address,
    reply_address,
    reply_tag,
    reply_tag_valid,
)

CUSTOMER = "anna@customer.test"


def test_reply_address_has_the_reference_and_a_sixteen_letter_tag() -> None:
    address = reply_address(123, CUSTOMER)
    assert re.fullmatch(r"support\+SR-000123\.[a-z2-7]{16}@supportdesk\.localhost", address)


def test_the_tag_depends_on_ticket_and_recipient_but_not_on_case_or_spaces() -> None:
    assert reply_tag(123, CUSTOMER) == reply_tag(123, "  Anna@Customer.TEST ")
    assert reply_tag(123, CUSTOMER) != reply_tag(124, CUSTOMER)
    assert reply_tag(123, CUSTOMER) != reply_tag(123, "eve@customer.test")


def test_the_tag_depends_on_the_secret_key(settings: Any) -> None:
    before = reply_tag(123, CUSTOMER)
    settings.SECRET_KEY = "another-secret-key-of-enough-length-0123456789-abcdefghijklmnop"
    assert reply_tag(123, CUSTOMER) != before


def test_parse_gives_back_ticket_and_tag_of_our_own_address() -> None:
    address = reply_address(123, CUSTOMER)
    tag = address.split(".", 1)[1].split("@", 1)[0]
    assert parse_reply_address(address) == (123, tag)
    assert parse_reply_address(f"<{address.upper()}>") == (123, tag)


@pytest.mark.parametrize(
    "address",
    [
        "support@supportdesk.localhost",
        "support+SR-000123@supportdesk.localhost",
        "support+SR-000123.abcdefghijklmnop@elsewhere.test",
        "sales+SR-000123.abcdefghijklmnop@supportdesk.localhost",
        "support+XX-000123.abcdefghijklmnop@supportdesk.localhost",
        "support+SR-000123.abcdefgh@supportdesk.localhost",
        "support+SR-000123.abcdefghijklmno1@supportdesk.localhost",
        "support+SR-abc.abcdefghijklmnop@supportdesk.localhost",
        "no-at-sign",
        "",
    ],
)
def test_parse_refuses_anything_else(address: str) -> None:
    assert parse_reply_address(address) is None


def test_tag_valid_only_for_its_ticket_and_recipient() -> None:
    parsed = parse_reply_address(reply_address(123, CUSTOMER))
    assert parsed is not None
    ticket_id, tag = parsed
    assert reply_tag_valid(ticket_id, "ANNA@customer.test", tag)
    assert not reply_tag_valid(124, CUSTOMER, tag)
    assert not reply_tag_valid(ticket_id, "eve@customer.test", tag)
    assert not reply_tag_valid(ticket_id, CUSTOMER, "a" * 16)


def test_the_address_follows_mailin_address_and_ticket_prefix(settings: Any) -> None:
    settings.SUPPORTDESK = dataclasses.replace(
        settings.SUPPORTDESK, MAILIN_ADDRESS="help@desk.example.com", TICKET_PREFIX="REQ"
    )
    address = reply_address(7, CUSTOMER)
    assert address.startswith("help+REQ-000007.") and address.endswith("@desk.example.com")
    assert parse_reply_address(address) == (7, reply_tag(7, CUSTOMER))
    assert parse_reply_address(address.replace("REQ-", "SR-")) is None


def test_the_marker_is_one_line_of_plain_text() -> None:
    assert "\n" not in REPLY_ABOVE_MARKER and REPLY_ABOVE_MARKER.strip() == REPLY_ABOVE_MARKER
    assert settings.SUPPORTDESK.MAILIN_ADDRESS == "support@supportdesk.localhost"
