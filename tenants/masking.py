"""Registered contacts shown masked: enough for a caller or an admin to recognise them, too
little to learn them. Pure."""

from __future__ import annotations

import phonenumbers


def mask_email(address: str) -> str:
    """``jan.kowalski@contoso.com`` → ``j***@contoso.com``: enough for the caller to
    recognise their address, too little to learn it."""
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain.lower()}"


def mask_phone(number: phonenumbers.PhoneNumber | str) -> str:
    """``+48 600 100 123`` → ``+48 *** *** 123``: the country code and the last three
    digits. The hidden part is always shown as two groups, whatever its length, so the
    mask does not tell how long the number is. Accepts a parsed number or an E.164
    string."""
    if isinstance(number, str):
        try:
            number = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            return "***"
    national = phonenumbers.national_significant_number(number)
    if not number.country_code or len(national) < 4:
        return "***"
    return f"+{number.country_code} *** *** {national[-3:]}"
