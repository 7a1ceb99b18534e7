"""MAILIN_IMAP_URL is read into an ImapAccount: the parts, their defaults, and the refusals
(pure: no Django)."""

from __future__ import annotations

import pytest

from core.config import ImapAccount

pytestmark = pytest.mark.pure


def test_an_imaps_url_is_tls_on_port_993_and_the_inbox_by_default() -> None:
    account = ImapAccount.from_url("imaps://support:secret@mail.example.com")

    assert account == ImapAccount(
        host="mail.example.com",
        port=993,
        username="support",
        password="secret",
        folder="INBOX",
        tls=True,
    )


def test_an_imap_url_is_plain_text_on_port_143() -> None:
    account = ImapAccount.from_url("imap://support:secret@127.0.0.1")

    assert (account.tls, account.port) == (False, 143)


def test_escaped_user_password_and_folder_are_decoded() -> None:
    account = ImapAccount.from_url(
        "imaps://help%40example.com:p%40ss%2Fw%3Ard@mail.example.com:1993/Support%20In"
    )

    assert (account.username, account.password) == ("help@example.com", "p@ss/w:rd")
    assert (account.port, account.folder) == (1993, "Support In")


def test_the_password_is_never_shown() -> None:
    account = ImapAccount.from_url("imaps://support:very-secret@mail.example.com")

    assert "very-secret" not in repr(account)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://support:secret@mail.example.com", "is not imaps or imap"),
        ("imaps:///INBOX", "names no host"),
        ("imaps://mail.example.com/INBOX", "names no user and password"),
        ("imaps://support@mail.example.com/INBOX", "names no user and password"),
        ("imaps://support:secret@mail.example.com:99999/", "out of range"),
    ],
)
def test_a_malformed_url_is_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as refused:
        ImapAccount.from_url(url)

    assert "secret" not in str(refused.value)
