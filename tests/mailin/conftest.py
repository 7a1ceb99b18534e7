"""Fixtures of the incoming mail tests."""

from __future__ import annotations

# A private dovecot IMAP server per test (tests/mailin/imap_server.py).
from tests.mailin.imap_server import dovecot as dovecot
