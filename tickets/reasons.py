"""The reasons the workers store on the Events they write (POL-SEV-7), in English: the
notification renders each in its reader's language (the msgids are translated, then the
values substituted)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

REASON_DOWNGRADE = gettext_noop(
    "We asked for information and did not hear back within the customer-cooperation "
    "window, so the severity was lowered from %(before)s to %(after)s (POL-SEV-7). Reply "
    "to the request to continue."
)
REASON_REMINDER = gettext_noop(
    "We are still waiting for the information we asked for. Reply to the request so that "
    "support can continue (POL-SEV-7)."
)
REASON_REPLY_IN_TIME = gettext_noop(
    "The customer's reply arrived within the cooperation window; the severity is restored."
)
REASON_ASSESSED_BY_EMAIL_FILER = gettext_noop(
    "Assessment completed by the admin who filed the request by e-mail (POL-SEV-1)."
)
REASON_AUTO_CLOSED = gettext_noop("Closed automatically %(days)d days after it was resolved.")
