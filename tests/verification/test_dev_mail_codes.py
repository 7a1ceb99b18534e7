"""Development: the newest verification codes lead /dev/mail/ as plain digits, however
the e-mail was encoded (multipart, quoted-printable, the contact's language)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from supportdesk import devmail
from tests.conftest import World
from tests.test_dev_mail import debug_routes  # noqa: F401 (a fixture)
from tests.verification.conftest import Contacts
from verification import pins
from verification.models import Call
from verification.services import code_send

pytestmark = pytest.mark.django_db


def test_the_latest_codes_lead_the_page_plainly(
    debug_routes: Path,  # noqa: F811
    world: World,
    contacts: Contacts,
    call: Call,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codes = iter(["20261207", "31415926"])
    monkeypatch.setattr(pins, "generate_code", lambda length=8: next(codes))
    for _ in range(2):
        code_send(
            call=call,
            agent=world.agent,
            channel_id=contacts.email.pk,
            channel_kind="email",
            now=timezone.now(),
        )
    raw = b"".join(path.read_bytes() for path in debug_routes.glob("*.log"))
    assert b"31415926" in raw or b"Content-Transfer-Encoding" in raw

    mails = devmail.read_mail_folder(debug_routes)
    assert [m.code for m in mails if m.code] == ["31415926", "20261207"]
    assert all(m.code == "" for m in mails if m.kind != devmail.CODE_KIND)

    page = client.get("/dev/mail/").content.decode()
    panel = page.split('id="codes"', 1)[1].split("</section>", 1)[0]
    assert panel.index("31415926") < panel.index("20261207")  # newest first
    assert '<code class="pin-code">31415926</code>' in panel
    assert contacts.email.email in panel
