"""The audit trail in a real browser (issue 17): a supervisor signs in (a row of its own),
opens the desk's audit trail from the desk's navigation, filters it down to sign-ins and
downloads the filtered rows as CSV."""

from __future__ import annotations

import csv
import io

import pytest

from audit.actions import Action
from tests.conftest import World
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_supervisor_filters_the_trail_and_downloads_it(world: World, page: object) -> None:
    from playwright.sync_api import expect

    sign_in(page, world.supervisor.email)
    page.goto("/desk/")  # type: ignore[attr-defined]
    page.get_by_role("link", name="Audit trail").click()  # type: ignore[attr-defined]
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    expect(page.locator('nav.desk-nav a[aria-current="page"]')).to_have_text("Audit trail")

    page.get_by_label("Action").select_option(Action.SIGNIN)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Filter").click()  # type: ignore[attr-defined]
    rows = page.locator("#audit-trail tbody tr")  # type: ignore[attr-defined]
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(world.supervisor.email)
    expect(rows.first).to_contain_text("Signed in")

    with page.expect_download() as download_info:  # type: ignore[attr-defined]
        page.get_by_test_id("audit-csv").click()  # type: ignore[attr-defined]
    path = download_info.value.path()
    with open(path, encoding="utf-8") as handle:
        exported = list(csv.DictReader(io.StringIO(handle.read())))
    assert [row["Action code"] for row in exported] == [Action.SIGNIN]
    assert exported[0]["By"] == world.supervisor.email
