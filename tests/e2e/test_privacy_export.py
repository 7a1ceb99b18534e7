"""A global admin's data export in a real browser (issue 17): asked for in the portal's
privacy settings, the progress bar follows the worker (run here by the test between two
looks), the zip downloads once, and a second try says why it is gone."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import World
from tests.e2e.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_global_admin_exports_the_organization_and_downloads_it_once(
    world: World, page: Any, settings: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    from privacy.models import ExportJob
    from privacy.services import export_run

    settings.MEDIA_ROOT = str(tmp_path / "media")
    ticket = world.file()
    sign_in(page, world.admin_a.user.email)
    page.goto(f"/portal/{world.org_a.slug}/")
    page.get_by_role("link", name="Privacy").click()
    page.get_by_label("What to export").select_option("organization")
    page.get_by_role("button", name="Prepare the export").click()
    expect(page).to_have_url(re.compile(r"/settings/privacy/exports/\d+/$"))
    progress = page.locator("#export-progress")
    expect(progress).to_have_attribute("hx-trigger", "every 1s")
    expect(progress.get_by_role("link", name="Refresh")).to_be_visible()
    expect(page.locator("#export-status")).to_have_text("Queued")

    job = ExportJob.objects.get()
    export_run(job.pk)

    expect(progress).to_contain_text("2 of 2 parts written (100 %)", timeout=5_000)
    expect(page.locator("#export-status")).to_have_text("Ready to download")
    expect(progress).not_to_have_attribute("hx-trigger", re.compile(".*"))
    with page.expect_download() as info:
        page.locator("#export-download").click()
    saved = tmp_path / "export.zip"
    info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert f"requests/{ticket.reference}.json" in archive.namelist()

    response = page.goto(f"/portal/{world.org_a.slug}/settings/privacy/exports/{job.pk}/download/")
    assert response.status == 410
    expect(page.get_by_role("alert")).to_contain_text("downloaded once")
