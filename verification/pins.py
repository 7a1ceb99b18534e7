"""The rules of a verification code, as plain values (POL-PIN-1..3). Pure.

No model, no clock, no settings object: callers pass what they read. The services in
``verification.services`` store, count and time codes in the database; this module only
says what a code is, how it is hashed and compared, how contacts are shown masked, and
which verdict a set of facts deserves.

Why HMAC-SHA256 and not a slow password hash (PBKDF2, scrypt, Argon2)
------------------------------------------------------------------------
An 8-digit code has 10^8 values. Whoever holds a stored ``(salt, hash)`` pair can try all
of them offline; even at Argon2's deliberate ~50 ms per guess, a few GPU-minutes cover
the whole space, so a slow KDF would only slow our own checks and buy nothing. What
protects the stored value is the *pepper*: the HMAC key lives in the settings (not in the
database), so a stolen table alone does not allow an offline search at all. The per-code
salt makes equal codes hash differently (no cross-row correlation).

The real defence is online and lives in the database (POLICY.md PIN defaults): a code is
valid 10 minutes, single use, dies after 5 wrong entries, at most 3 codes per
organization per hour and 10 per day, and the organization's PIN path locks after 100
consecutive failures. An online attacker therefore gets at most 50 guesses a day at a
space of 10^8 before a supervisor must act: a success chance below 1 in 2,000,000.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

CODE_LENGTH = 8
SALT_BYTES = 16

# NIST SP 800-63B: at least six digits for a look-up secret read over the phone.
_MIN_CODE_LENGTH = 6
_MAX_CODE_LENGTH = 12
# What a person may type between digits when reading a code back: spaces, dashes, dots.
_SEPARATORS = re.compile(r"[\s\-‐-―.]+")


# --- Codes ---------------------------------------------------------------------------------


def generate_code(length: int = CODE_LENGTH) -> str:
    """A code of ``length`` decimal digits from the operating system's CSPRNG."""
    if not _MIN_CODE_LENGTH <= length <= _MAX_CODE_LENGTH:
        raise ValueError(f"a code has {_MIN_CODE_LENGTH} to {_MAX_CODE_LENGTH} digits")
    return str(secrets.randbelow(10**length)).zfill(length)


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def hash_code(code: str, salt: bytes, pepper: bytes) -> str:
    """HMAC-SHA256 over ``salt + code`` keyed with the pepper, as 64 hex characters.

    See the module docstring for why a fast keyed hash is the right tool here.
    """
    if not pepper:
        raise ValueError("the pepper must not be empty")
    return hmac.new(pepper, salt + code.encode("ascii"), hashlib.sha256).hexdigest()


def codes_match(code: str, salt: bytes, pepper: bytes, expected_hash: str) -> bool:
    """Whether ``code`` hashes to ``expected_hash``, compared in constant time."""
    return hmac.compare_digest(hash_code(code, salt, pepper), expected_hash)


def normalise_entry(text: str | None, length: int = CODE_LENGTH) -> str | None:
    """What the agent typed, without spaces and dashes; None unless exactly ``length`` digits.

    Only ASCII digits count: ``str.isdigit`` would accept "²" or Arabic-Indic digits.
    """
    if text is None:
        return None
    compact = _SEPARATORS.sub("", text)
    if len(compact) != length or not compact.isascii() or not compact.isdigit():
        return None
    return compact


# --- Policy --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PinPolicy:
    """POLICY.md PIN defaults (NIST SP 800-63B, OWASP ASVS 5 V6.5–V6.6)."""

    code_length: int = CODE_LENGTH
    valid_for: timedelta = timedelta(minutes=10)
    max_wrong_per_code: int = 5
    max_codes_per_hour: int = 3
    max_codes_per_day: int = 10
    lock_after_failures: int = 100
    call_max: timedelta = timedelta(minutes=60)

    def __post_init__(self) -> None:
        if not _MIN_CODE_LENGTH <= self.code_length <= _MAX_CODE_LENGTH:
            raise ValueError(
                f"PIN_CODE_LENGTH must be {_MIN_CODE_LENGTH} to {_MAX_CODE_LENGTH} digits"
            )
        for name in ("valid_for", "call_max"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"the PIN policy's {name} must be positive")
        for name in (
            "max_wrong_per_code",
            "max_codes_per_hour",
            "max_codes_per_day",
            "lock_after_failures",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"the PIN policy's {name} must be at least 1")
        if self.max_codes_per_day < self.max_codes_per_hour:
            raise ValueError("PIN_MAX_CODES_PER_DAY must not be below PIN_MAX_CODES_PER_HOUR")

    @classmethod
    def from_settings(cls, values: Mapping[str, object]) -> PinPolicy:
        """Read the ``PIN_*`` keys of a settings mapping (``settings.SUPPORTDESK``); a
        missing key keeps its default, a malformed one raises ``ValueError``."""
        defaults = cls()

        def number(key: str, default: int) -> int:
            value = values.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key}={value!r} is not a number")
            if int(value) != value:
                raise ValueError(f"{key}={value!r} is not a whole number")
            return int(value)

        return cls(
            code_length=number("PIN_CODE_LENGTH", defaults.code_length),
            valid_for=timedelta(minutes=number("PIN_VALID_MINUTES", _minutes(defaults.valid_for))),
            max_wrong_per_code=number("PIN_MAX_WRONG_PER_CODE", defaults.max_wrong_per_code),
            max_codes_per_hour=number("PIN_MAX_CODES_PER_HOUR", defaults.max_codes_per_hour),
            max_codes_per_day=number("PIN_MAX_CODES_PER_DAY", defaults.max_codes_per_day),
            lock_after_failures=number("PIN_LOCK_AFTER_FAILURES", defaults.lock_after_failures),
            call_max=timedelta(minutes=number("PIN_CALL_MAX_MINUTES", _minutes(defaults.call_max))),
        )


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


# --- Judging an entry ----------------------------------------------------------------------


class Verdict(enum.StrEnum):
    """Why an entry was accepted or refused. Only the audit trail sees the reason; the
    agent (and so the caller) gets one message for every refusal."""

    ACCEPTED = "accepted"
    LOCKED = "locked"
    NO_CODE = "no_code"
    USED = "used"
    VOIDED = "voided"
    EXHAUSTED = "exhausted"
    EXPIRED = "expired"
    WRONG = "wrong"


@dataclass(frozen=True, slots=True)
class ChallengeFacts:
    """What the database says about the latest code of a call, read in one query."""

    used: bool
    voided: bool
    expired: bool
    wrong_attempts: int


def judge(
    *,
    matches: bool,
    challenge: ChallengeFacts | None,
    locked: bool,
    policy: PinPolicy,
) -> Verdict:
    """The verdict on an entry. A lock outranks everything, then the code's own state;
    a code that is dead for any reason refuses even the right digits.

    Advisory: the services still claim an accepted code with a conditional UPDATE, which
    is what makes it single-use under concurrency.
    """
    if locked:
        return Verdict.LOCKED
    if challenge is None:
        return Verdict.NO_CODE
    if challenge.used:
        return Verdict.USED
    if challenge.voided:
        return Verdict.VOIDED
    if challenge.wrong_attempts >= policy.max_wrong_per_code:
        return Verdict.EXHAUSTED
    if challenge.expired:
        return Verdict.EXPIRED
    return Verdict.ACCEPTED if matches else Verdict.WRONG
