"""The pure rules of a code (verification.pins): no database, no clock."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenants import masking
from verification import pins
from verification.pins import ChallengeFacts, PinPolicy, Verdict

pytestmark = pytest.mark.pure

PEPPER = b"test-pepper"


# --- Codes ---------------------------------------------------------------------------------


def test_a_code_is_eight_ascii_digits() -> None:
    for _ in range(200):
        code = pins.generate_code()
        assert len(code) == 8
        assert code.isascii() and code.isdigit()


def test_a_code_comes_from_secrets_and_keeps_its_leading_zeros(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[int] = []

    def randbelow(n: int) -> int:
        asked.append(n)
        return 42

    monkeypatch.setattr(secrets, "randbelow", randbelow)
    assert pins.generate_code() == "00000042"
    assert asked == [10**8]


def test_codes_are_spread_over_the_space() -> None:
    codes = {pins.generate_code() for _ in range(1000)}
    assert len(codes) > 990  # 1000 draws from 10^8: a collision is a 0.5 % event
    assert {code[0] for code in codes} == set("0123456789")


def test_a_code_length_below_six_or_above_twelve_is_refused() -> None:
    with pytest.raises(ValueError):
        pins.generate_code(5)
    with pytest.raises(ValueError):
        pins.generate_code(13)
    assert len(pins.generate_code(6)) == 6


def test_salts_are_random_sixteen_bytes() -> None:
    salts = {pins.new_salt() for _ in range(100)}
    assert len(salts) == 100
    assert all(len(salt) == 16 for salt in salts)


def test_the_hash_is_hmac_sha256_over_salt_and_code_keyed_with_the_pepper() -> None:
    salt = bytes(range(16))
    expected = hmac.new(PEPPER, salt + b"12345678", "sha256").hexdigest()
    assert pins.hash_code("12345678", salt, PEPPER) == expected
    assert len(expected) == 64


def test_the_same_code_hashes_differently_with_another_salt_or_pepper() -> None:
    salt_1, salt_2 = pins.new_salt(), pins.new_salt()
    first = pins.hash_code("12345678", salt_1, PEPPER)
    assert pins.hash_code("12345678", salt_2, PEPPER) != first
    assert pins.hash_code("12345678", salt_1, b"another pepper") != first
    assert "12345678" not in first


def test_an_empty_pepper_is_refused() -> None:
    with pytest.raises(ValueError):
        pins.hash_code("12345678", pins.new_salt(), b"")


def test_codes_match_only_the_right_code(monkeypatch: pytest.MonkeyPatch) -> None:
    salt = pins.new_salt()
    stored = pins.hash_code("01234567", salt, PEPPER)
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(pins.hmac, "compare_digest", spy)
    assert pins.codes_match("01234567", salt, PEPPER, stored)
    assert not pins.codes_match("01234568", salt, PEPPER, stored)
    assert not pins.codes_match("01234567", pins.new_salt(), PEPPER, stored)
    assert not pins.codes_match("01234567", salt, b"other", stored)
    assert len(compared) == 4  # every comparison is constant-time


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_every_code_matches_its_own_hash(code: str) -> None:
    salt = pins.new_salt()
    assert pins.codes_match(code, salt, PEPPER, pins.hash_code(code, salt, PEPPER))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12345678", "12345678"),
        (" 1234 5678 ", "12345678"),
        ("1234-5678", "12345678"),
        ("12 34 56 78", "12345678"),
        ("1234–5678", "12345678"),  # an en dash pasted from a document
        ("1234.5678", "12345678"),
        ("00000000", "00000000"),
        ("1234567", None),
        ("123456789", None),
        ("1234567a", None),
        ("", None),
        ("   ", None),
        (None, None),
        ("１２３４５６７８", None),  # full-width digits
        ("١٢٣٤٥٦٧٨", None),  # Arabic-Indic digits
        ("12345678\x00", None),
        ("+1234567", None),
    ],
)
def test_normalise_entry(typed: str | None, expected: str | None) -> None:
    assert pins.normalise_entry(typed) == expected


# --- Masks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("jan.kowalski@contoso.com", "j***@contoso.com"),
        ("a@b.pl", "a***@b.pl"),
        ("Jan@Contoso.COM", "J***@contoso.com"),
        ("@contoso.com", "***@contoso.com"),
        ("not-an-address", "***"),
    ],
)
def test_mask_email(address: str, masked: str) -> None:
    assert masking.mask_email(address) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+48600100123", "+48 *** *** 123"),
        ("+12025550199", "+1 *** *** 199"),
        ("+442079460958", "+44 *** *** 958"),
        ("+390612345678", "+39 *** *** 678"),  # Italian leading zero kept in the digits
        ("garbage", "***"),
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert masking.mask_phone(number) == masked


def test_mask_phone_takes_a_parsed_number() -> None:
    assert masking.mask_phone(phonenumbers.parse("600 100 123", "PL")) == "+48 *** *** 123"


def test_masks_hide_the_middle() -> None:
    assert "600100" not in masking.mask_phone("+48600100123")
    assert "kowalski" not in masking.mask_email("jan.kowalski@contoso.com")


# --- Policy --------------------------------------------------------------------------------


def test_policy_defaults_are_the_policy_md_defaults() -> None:
    policy = PinPolicy()
    assert policy.code_length == 8
    assert policy.valid_for == timedelta(minutes=10)
    assert policy.max_wrong_per_code == 5
    assert policy.max_codes_per_hour == 3
    assert policy.max_codes_per_day == 10
    assert policy.lock_after_failures == 100
    assert policy.call_max == timedelta(minutes=60)


def test_policy_from_settings_reads_the_pin_keys_and_keeps_defaults() -> None:
    assert PinPolicy.from_settings({}) == PinPolicy()
    policy = PinPolicy.from_settings(
        {
            "PIN_VALID_MINUTES": 5,
            "PIN_MAX_WRONG_PER_CODE": 3,
            "PIN_MAX_CODES_PER_HOUR": 2,
            "PIN_MAX_CODES_PER_DAY": 4,
            "PIN_LOCK_AFTER_FAILURES": 20,
            "PIN_CALL_MAX_MINUTES": 30,
            "PIN_CODE_LENGTH": 10,
            "TICKET_PREFIX": "SR",
        }
    )
    assert policy == PinPolicy(
        code_length=10,
        valid_for=timedelta(minutes=5),
        max_wrong_per_code=3,
        max_codes_per_hour=2,
        max_codes_per_day=4,
        lock_after_failures=20,
        call_max=timedelta(minutes=30),
    )


@pytest.mark.parametrize(
    "values",
    [
        {"PIN_VALID_MINUTES": 0},
        {"PIN_MAX_WRONG_PER_CODE": 0},
        {"PIN_LOCK_AFTER_FAILURES": -1},
        {"PIN_CODE_LENGTH": 4},
        {"PIN_MAX_CODES_PER_HOUR": 5, "PIN_MAX_CODES_PER_DAY": 4},
        {"PIN_VALID_MINUTES": "10"},
        {"PIN_VALID_MINUTES": 1.5},
        {"PIN_MAX_WRONG_PER_CODE": True},
    ],
)
def test_policy_refuses_nonsense(values: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PinPolicy.from_settings(values)


def test_policy_is_frozen() -> None:
    with pytest.raises(AttributeError):
        PinPolicy().max_wrong_per_code = 50  # type: ignore[misc]


# --- Judging -------------------------------------------------------------------------------

LIVE = ChallengeFacts(used=False, voided=False, expired=False, wrong_attempts=0)


@pytest.mark.parametrize(
    ("matches", "facts", "locked", "verdict"),
    [
        (True, LIVE, False, Verdict.ACCEPTED),
        (False, LIVE, False, Verdict.WRONG),
        (True, LIVE, True, Verdict.LOCKED),
        (True, None, False, Verdict.NO_CODE),
        (True, ChallengeFacts(True, False, False, 0), False, Verdict.USED),
        (True, ChallengeFacts(False, True, False, 0), False, Verdict.VOIDED),
        (True, ChallengeFacts(False, False, False, 5), False, Verdict.EXHAUSTED),
        (True, ChallengeFacts(False, False, False, 4), False, Verdict.ACCEPTED),
        (True, ChallengeFacts(False, False, True, 0), False, Verdict.EXPIRED),
        (False, ChallengeFacts(False, False, True, 0), False, Verdict.EXPIRED),
        (True, ChallengeFacts(True, True, True, 9), True, Verdict.LOCKED),
    ],
)
def test_judge(matches: bool, facts: ChallengeFacts | None, locked: bool, verdict: Verdict) -> None:
    assert (
        pins.judge(matches=matches, challenge=facts, locked=locked, policy=PinPolicy()) == verdict
    )


def test_judge_follows_the_policys_wrong_entry_limit() -> None:
    facts = ChallengeFacts(used=False, voided=False, expired=False, wrong_attempts=2)
    strict = PinPolicy(max_wrong_per_code=2)
    assert pins.judge(matches=True, challenge=facts, locked=False, policy=strict) == (
        Verdict.EXHAUSTED
    )
