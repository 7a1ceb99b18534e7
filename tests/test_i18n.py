"""The Polish translation: a complete catalog, and Polish pages and severity reasons.

The catalog is checked with a small ``.po`` parser (no extra dependency), so the test
runs where GNU gettext is missing; where ``msgfmt`` exists, its own ``--check`` runs too.
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from severity import assessment

PO_PATH = Path(settings.BASE_DIR) / "locale" / "pl" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
LOGIN_URL = "/accounts/login/"

# Our Polish for the login page (templates/registration/login.html).
PL_LOGIN_TITLE = "Zaloguj się do supportdesk"
PL_FORGOT_PASSWORD = "Nie pamiętasz hasła?"
EN_LOGIN_TITLE = "Sign in to supportdesk"

PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]|\{\w*\}")


# --- A tiny .po parser ---------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())


def parse_po(text: str) -> list[Entry]:
    """Entries of a ``.po`` file, header included; obsolete (``#~``) entries are skipped."""
    entries: list[Entry] = []
    current = Entry()
    # The field that a bare continuation string ("...") appends to.
    target: tuple[str, int | None] | None = None
    started = False

    def finish() -> None:
        nonlocal current, started, target
        if started:
            entries.append(current)
        current, started, target = Entry(), False, None

    def append(value: str) -> None:
        assert target is not None, "continuation line without a keyword"
        name, index = target
        if name == "msgstr":
            current.msgstr[index or 0] = current.msgstr.get(index or 0, "") + value
        else:
            setattr(current, name, (getattr(current, name) or "") + value)

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            if started:  # a comment after the strings opens the next entry
                finish()
            current.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            if started:
                finish()
        else:
            keyword, _, rest = line.partition(" ")
            if line.startswith('"'):
                append(ast.literal_eval(line))
                continue
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if keyword in ("msgctxt", "msgid") and started and target and target[0] == "msgstr":
                finish()
            started = True
            value = ast.literal_eval(rest)
            if match:
                target = ("msgstr", int(match.group(1)))
            elif keyword in ("msgid", "msgid_plural", "msgctxt", "msgstr"):
                target = (keyword, 0 if keyword == "msgstr" else None)
            else:
                raise ValueError(f"unexpected line in {PO_PATH.name}: {raw!r}")
            if keyword in ("msgid", "msgid_plural", "msgctxt"):
                setattr(current, keyword, "")
            append(value)
    finish()
    return entries


@pytest.fixture(scope="module")
def catalog() -> list[Entry]:
    assert PO_PATH.exists(), f"{PO_PATH} is missing: run makemessages -l pl"
    return parse_po(PO_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def messages(catalog: list[Entry]) -> list[Entry]:
    return [entry for entry in catalog if not entry.is_header]


@pytest.fixture(autouse=True)
def _restore_language() -> Iterator[None]:
    # LocaleMiddleware activates the request's language and leaves it active.
    language = translation.get_language()
    yield
    if language:
        translation.activate(language)
    else:
        translation.deactivate_all()


# --- (a) The catalog is complete -------------------------------------------------------------


SAMPLE_PO = """\
msgid ""
msgstr ""
"Language: pl\\n"

#: a.py:1
#, python-format
msgid "Hi %(name)s"
msgstr ""

msgctxt "menu"
msgid "file"
msgid_plural "files"
msgstr[0] "plik"
msgstr[1] ""
msgstr[2] "plików"

#, fuzzy
msgid "Long "
"text"
msgstr "Długi tekst"

#~ msgid "gone"
#~ msgstr ""
"""


def test_parser_finds_untranslated_and_fuzzy_entries() -> None:
    header, hi, files, long = parse_po(SAMPLE_PO)

    assert header.is_header and header.msgstr == {0: "Language: pl\n"}
    assert (hi.msgid, hi.translated, hi.flags) == ("Hi %(name)s", False, {"python-format"})
    assert (files.msgctxt, files.msgid_plural, files.translated) == ("menu", "files", False)
    assert files.msgstr == {0: "plik", 1: "", 2: "plików"}
    assert (long.msgid, long.translated, long.flags) == ("Long text", True, {"fuzzy"})


def test_parser_reads_the_catalog(messages: list[Entry]) -> None:
    assert len(messages) > 100
    assert any(entry.msgid_plural for entry in messages)
    assert any(entry.msgid == "Sign in" for entry in messages)


def test_every_message_is_translated(messages: list[Entry]) -> None:
    untranslated = [entry.msgid for entry in messages if not entry.translated]
    assert untranslated == []


def test_no_fuzzy_entries(catalog: list[Entry]) -> None:
    fuzzy = [entry.msgid or "<header>" for entry in catalog if "fuzzy" in entry.flags]
    assert fuzzy == []


def test_header_has_polish_plural_forms(catalog: list[Entry]) -> None:
    header = catalog[0]
    assert header.is_header
    assert "Language: pl\n" in header.msgstr[0]
    assert (
        "Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && "
        "(n%100<10 || n%100>=20) ? 1 : 2);" in header.msgstr[0]
    )


def test_plural_messages_have_three_forms(messages: list[Entry]) -> None:
    wrong = [e.msgid for e in messages if e.msgid_plural and sorted(e.msgstr) != [0, 1, 2]]
    assert wrong == []


def test_placeholders_are_kept(messages: list[Entry]) -> None:
    broken = []
    for entry in messages:
        expected = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for form in entry.msgstr.values():
            if sorted(PLACEHOLDER.findall(form)) != expected:
                broken.append((entry.msgid, form))
    assert broken == []


def test_compiled_catalog_matches_the_po_file(messages: list[Entry]) -> None:
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run compilemessages"
    with MO_PATH.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = []
    for entry in messages:
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt is not None else entry.msgid
        if entry.msgid_plural:
            forms = {n: compiled.ngettext(entry.msgid, entry.msgid_plural, n) for n in (1, 2, 5)}
            if entry.msgctxt is not None:
                forms = {
                    n: compiled.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                    for n in (1, 2, 5)
                }
            if list(forms.values()) != [entry.msgstr[0], entry.msgstr[1], entry.msgstr[2]]:
                stale.append(key)
        else:
            got = (
                compiled.pgettext(entry.msgctxt, entry.msgid)
                if entry.msgctxt is not None
                else compiled.gettext(entry.msgid)
            )
            if got != entry.msgstr[0]:
                stale.append(key)
    assert stale == [], "django.mo is out of date: run compilemessages"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext is not installed")
def test_msgfmt_check_and_statistics() -> None:
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO_PATH)],
        capture_output=True,
        text=True,
        check=False,
        env={"LC_ALL": "C", "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr
    assert "fuzzy" not in result.stderr
    assert re.search(r"\d+ translated messages?\.", result.stderr), result.stderr


# --- (b) The login page in Polish ------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_follows_accept_language(client: Client) -> None:
    response = client.get(LOGIN_URL, headers={"accept-language": "pl"})

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="pl"' in html
    assert PL_LOGIN_TITLE in html
    assert PL_FORGOT_PASSWORD in html
    assert ">Zaloguj się</button>" in html  # the submit button
    assert EN_LOGIN_TITLE not in html


@pytest.mark.django_db
def test_login_page_defaults_to_english(client: Client) -> None:
    response = client.get(LOGIN_URL)

    html = response.content.decode()
    assert '<html lang="en"' in html
    assert EN_LOGIN_TITLE in html
    assert PL_LOGIN_TITLE not in html


# --- (c) Severity reasons in Polish ----------------------------------------------------------


def _contract_cap_message() -> str:
    result = assessment.assess(
        category="technical",
        impact="service_down",
        scope="many",
        contract="standard",
        has_business_impact_statement=True,
        has_24x7_contact=True,
    )
    (message,) = [reason.message for reason in result.reasons if reason.code == "cap_contract"]
    return message


def test_contract_cap_reason_in_polish() -> None:
    with translation.override("pl"):
        message = _contract_cap_message()

    assert "zaawansowanej umowy pomocy technicznej" in message
    assert message.endswith("otrzymuje ważność B.")


def test_contract_cap_reason_in_english() -> None:
    with translation.override("en"):
        message = _contract_cap_message()

    assert "advanced support agreement" in message


def test_all_reasons_of_an_assessment_are_polish() -> None:
    with translation.override("pl"):
        result = assessment.assess(
            category="technical",
            impact="service_down",
            scope="many",
            contract="standard",
            has_business_impact_statement=True,
            has_24x7_contact=True,
        )

    assert [reason.code for reason in result.reasons] == ["matrix", "cap_contract", "target"]
    assert all("ważność" in reason.message.lower() for reason in result.reasons)
    assert result.reasons[-1].message.startswith("Ważność B (wysoka):")


# --- (d) Switching language with set_language ------------------------------------------------


@pytest.mark.django_db
def test_set_language_makes_the_next_page_polish() -> None:
    client = Client()  # enforce_csrf_checks is off: no token needed
    assert EN_LOGIN_TITLE in client.get(LOGIN_URL).content.decode()

    response = client.post("/i18n/setlang/", {"language": "pl", "next": LOGIN_URL})

    assert response.status_code == 302
    assert response.headers["Location"] == LOGIN_URL
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "pl"

    html = client.get(LOGIN_URL).content.decode()
    assert '<html lang="pl"' in html
    assert PL_LOGIN_TITLE in html
