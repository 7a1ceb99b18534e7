"""The demo's provider staff, the password every demo login shares, and the rights of the
supervisors' admin group."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.models import StaffRole

DEMO_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    full_name: str
    language: str = "en"
    phone: str = ""
    staff_role: str = StaffRole.NONE
    is_staff: bool = False
    is_superuser: bool = False


STAFF: dict[str, Person] = {
    "root": Person(
        "root@supportdesk.example",
        "Site Administrator",
        staff_role=StaffRole.SUPERVISOR,
        is_staff=True,
        is_superuser=True,
    ),
    "supervisor": Person(
        "supervisor@supportdesk.example",
        "Olivia Bennett",
        staff_role=StaffRole.SUPERVISOR,
        is_staff=True,
    ),
    "agent1": Person("agent1@supportdesk.example", "Marta Kaczmarek", staff_role=StaffRole.AGENT),
    "agent2": Person("agent2@supportdesk.example", "James Porter", staff_role=StaffRole.AGENT),
}

# The supervisors' admin rights (DESIGN.md: calendars, targets, help centre, accounts).
# Tickets, messages and Events are view-only in the admin whatever the permission.
SUPERVISORS_GROUP = "Supervisors"
SUPERVISOR_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "severity": ("view", "add", "change", "delete"),
    "helpcenter": ("view", "add", "change", "delete"),
    "verification": ("view", "add", "change", "delete"),
    "tenants": ("view", "add", "change"),
    "tickets": ("view",),
}
# Within tenants, removing a member or a registered contact is routine; deleting a
# person or an organization is not.
SUPERVISOR_EXTRA_PERMISSIONS = (
    "delete_membership",
    "delete_registeredphone",
    "delete_registeredemail",
)
