"""Who must show a second factor where (mfa.policy): pure rules, no database."""

from __future__ import annotations

import pytest

from mfa.policy import Area, Decision, Where, area_of, decide, is_staff_account

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(
    ("path", "area", "slug"),
    [
        ("/desk/", Area.DESK, ""),
        ("/desk/tickets/SR-1/", Area.DESK, ""),
        ("/api/v1/desk/queue/", Area.STAFF_API, ""),
        ("/api/v1/calls/3/check/", Area.STAFF_API, ""),
        ("/api/v1/tickets/", Area.API, ""),
        ("/admin/", Area.ADMIN, ""),
        ("/portal/alpha/settings/api-keys/", Area.PORTAL, "alpha"),
        ("/accounts/verify/", Area.OPEN, ""),
        ("/accounts/login/", Area.OPEN, ""),
        ("/accounts/passkeys/authentication/begin/", Area.OPEN, ""),
        ("/accounts/security/", Area.OTHER, ""),
        ("/accounts/passkeys/registration/begin/", Area.OTHER, ""),
        ("/", Area.OTHER, ""),
    ],
)
def test_areas(path: str, area: Area, slug: str) -> None:
    assert area_of(path) == Where(area, slug)


def test_staff_accounts() -> None:
    assert is_staff_account(staff_role="agent", is_staff=False, is_superuser=False)
    assert is_staff_account(staff_role="supervisor", is_staff=True, is_superuser=False)
    assert is_staff_account(staff_role="", is_staff=False, is_superuser=True)
    assert is_staff_account(staff_role="", is_staff=True, is_superuser=False)
    assert not is_staff_account(staff_role="", is_staff=False, is_superuser=False)


def _decide(area: Area, **flags: bool) -> Decision:
    values = {
        "verified": False,
        "has_factor": False,
        "staff": False,
        "organization_requires": False,
    }
    values.update(flags)
    return decide(where=Where(area, "alpha" if area is Area.PORTAL else ""), **values)


@pytest.mark.parametrize("area", [Area.DESK, Area.STAFF_API, Area.ADMIN])
def test_staff_must_enrol_then_verify_for_staff_areas(area: Area) -> None:
    assert _decide(area, staff=True) is Decision.ENROL
    assert _decide(area, staff=True, has_factor=True) is Decision.VERIFY
    assert _decide(area, staff=True, has_factor=True, verified=True) is Decision.PASS


def test_staff_without_a_factor_still_reach_their_security_page() -> None:
    assert _decide(Area.OTHER, staff=True) is Decision.PASS


def test_customers_choose_unless_their_organization_requires_it_of_admins() -> None:
    assert _decide(Area.PORTAL) is Decision.PASS
    assert _decide(Area.API) is Decision.PASS
    assert _decide(Area.PORTAL, organization_requires=True) is Decision.ENROL
    # The API with a session reaches what the portal does: the requirement holds there.
    assert _decide(Area.API, organization_requires=True) is Decision.ENROL
    # Elsewhere (their security page) they are not sent to enrol.
    assert _decide(Area.OTHER, organization_requires=True) is Decision.PASS


def test_a_factor_protects_the_whole_account() -> None:
    for area in (Area.PORTAL, Area.API, Area.OTHER, Area.DESK):
        assert _decide(area, has_factor=True) is Decision.VERIFY
    assert _decide(Area.OPEN, has_factor=True) is Decision.PASS
