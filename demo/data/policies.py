"""The demo's per-organization SLA policy: Contoso bought faster answers to Severity B
technical requests (8 working hours instead of the standard 15) on the same calendar."""

from __future__ import annotations

from datetime import timedelta

CONTOSO_POLICY_NAME = "Contoso premium terms"
CONTOSO_POLICY_DESCRIPTION = (
    "Contoso's own terms: Severity B technical requests answered within 8 working hours "
    "instead of 15; everything else as the standard terms."
)
CONTOSO_POLICY_NOTE = "B technical: first response within 8 h instead of 15 h."
# (severity, category) → the first response that differs from the default policy's.
CONTOSO_CHANGES: dict[tuple[str, str], dict[str, timedelta]] = {
    ("B", "technical"): {"first_response": timedelta(hours=8)},
}
