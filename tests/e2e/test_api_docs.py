"""The API documentation works offline in a real browser, within the site's strict CSP
(the ``page`` fixture fails on any CSP violation): Swagger UI lists the operations and
Redoc renders the reference."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_lists_the_operations(page: object) -> None:
    p: object = page
    response = p.goto("/api/v1/docs/")  # type: ignore[attr-defined]
    assert response.status == 200
    p.locator(".opblock").first.wait_for()  # type: ignore[attr-defined]
    assert p.locator(".opblock").count() >= 20  # type: ignore[attr-defined]
    assert p.get_by_text("/api/v1/tickets/").first.is_visible()  # type: ignore[attr-defined]


# Redoc's "powered by" logo comes from its CDN: the policy blocks it, so nothing leaves
# the machine, and the page works without it.
@pytest.mark.csp_allow("https://cdn.redoc.ly/")
def test_redoc_renders_the_reference(page: object) -> None:
    p: object = page
    response = p.goto("/api/v1/redoc/")  # type: ignore[attr-defined]
    assert response.status == 200
    p.locator(".api-content").first.wait_for(timeout=20_000)  # type: ignore[attr-defined]
    assert p.locator("h2").count() >= 10  # type: ignore[attr-defined]
