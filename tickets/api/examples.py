"""OpenAPI examples of the service-request APIs (customer and desk): what a request, a
message, a timeline or an SLA ledger look like on the wire. Shown in Swagger UI and Redoc
only; nothing here is validated or served."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

_TICKET_EXAMPLE = {
    "number": "SR-000123",
    "url": "https://support.example.com/api/v1/tickets/SR-000123/",
    "title": "Cannot send mail",
    "description": "Outbound mail is stuck in the outbox for everyone since 09:10.",
    "category": "technical",
    "product": "exchange-online",
    "impact": "service_down",
    "scope": "many",
    "business_impact": "Sales cannot send quotes.",
    "contact_24x7": "+48 600 100 200 (on-call)",
    "severity": "A",
    "original_severity": "A",
    "severity_reason": "The service is unavailable for several users or services: "
    "severity A (critical).",
    "status": "new",
    "channel": "api",
    "contact_phone": "+48600100200",
    "contact_email": "it@contoso.example",
    "preferred_contact": "phone",
    "language": "en",
    "assigned": False,
    "response_due_at": "2026-06-10T11:00:00Z",
    "customer_due_at": None,
    "first_response_at": None,
    "created_at": "2026-06-10T10:00:00Z",
    "updated_at": "2026-06-10T10:00:00Z",
    "resolved_at": None,
    "closed_at": None,
}
TICKET_EXAMPLE = OpenApiExample("ticket", value=_TICKET_EXAMPLE, response_only=True)
CREATE_EXAMPLE = OpenApiExample(
    "file a request",
    value={
        "title": "Cannot send mail",
        "description": "Outbound mail is stuck in the outbox for everyone since 09:10.",
        "category": "technical",
        "product": "exchange-online",
        "impact": "service_down",
        "scope": "many",
        "business_impact": "Sales cannot send quotes.",
        "contact_24x7": "+48 600 100 200 (on-call)",
        "contact_phone": "+48600100200",
        "contact_email": "it@contoso.example",
        "preferred_contact": "phone",
    },
    request_only=True,
)
ATTACHMENT_EXAMPLE_VALUE = {
    "id": 12,
    "message": 41,
    "name": "screen.png",
    "content_type": "image/png",
    "size": 48213,
    "created_at": "2026-06-10T10:20:00Z",
}
MESSAGE_EXAMPLE = OpenApiExample(
    "message",
    value={
        "id": 41,
        "kind": "reply",
        "author_role": "agent",
        "author": "Anna",
        "body": "We are looking into it.",
        "attachments": [ATTACHMENT_EXAMPLE_VALUE],
        "created_at": "2026-06-10T10:20:00Z",
    },
    response_only=True,
)

CONTACT_CHANGE_EXAMPLE = OpenApiExample(
    "new phone",
    value={"contact_phone": "+48600100300", "preferred_contact": "phone"},
    request_only=True,
)
CUSTOMER_REPLY_EXAMPLE = OpenApiExample(
    "reply", value={"body": "Logs attached to the portal."}, request_only=True
)
FOLLOW_UP_EXAMPLE = OpenApiExample(
    "follow-up",
    value={"body": "The mail queue is stuck again since this morning."},
    request_only=True,
)
CUSTOMER_UPLOAD_EXAMPLE = OpenApiExample(
    "reply with files",
    summary="multipart/form-data: one `files` part per file",
    value={"body": "The bounce message and a screenshot.", "files": ["bounce.txt", "screen.png"]},
    request_only=True,
    media_type="multipart/form-data",
)
ATTACHMENTS_EXAMPLE = OpenApiExample("files", value=[ATTACHMENT_EXAMPLE_VALUE], response_only=True)
EVENTS_EXAMPLE = OpenApiExample(
    "filed",
    value=[
        {
            "id": 7,
            "kind": "created",
            "actor": "API key sdk_ab12cd34 (monitoring)",
            "before": {},
            "after": {"status": "new", "severity": "B"},
            "reason": "The service is usable but impaired …",
            "created_at": "2026-06-10T10:00:00Z",
        }
    ],
    response_only=True,
)
SLA_EXAMPLE = OpenApiExample(
    "running",
    value={
        "severity": "B",
        "category": "technical",
        "calendar": "Beijing 09-24",
        "time_zone": "Asia/Shanghai",
        "target_seconds": 54000,
        "measuring": "first_response",
        "clock_from": "2026-06-10T10:00:00Z",
        "due_at": "2026-06-11T10:00:00Z",
        "customer_due_at": None,
        "used_seconds": 1800,
        "remaining_seconds": 52200,
        "first_response_at": None,
        "segments": [
            {
                "start": "2026-06-10T10:00:00Z",
                "end": "2026-06-10T10:30:00Z",
                "kind": "running",
                "status": "new",
                "seconds": 1800,
            }
        ],
    },
    response_only=True,
)
REOPEN_EXAMPLE = OpenApiExample(
    "not fixed", value={"reason": "It failed again at noon."}, request_only=True
)
RATING_EXAMPLE = OpenApiExample(
    "five", value={"score": 5, "comment": "Quick and clear."}, request_only=True
)
RATED_EXAMPLE = OpenApiExample(
    "rated",
    value={"score": 5, "comment": "Quick and clear.", "created_at": "2026-06-11T08:00:00Z"},
    response_only=True,
)
ASSESS_EXAMPLE = OpenApiExample(
    "outage",
    value={"category": "technical", "impact": "service_down", "scope": "many"},
    request_only=True,
)
ASSESSED_EXAMPLE = OpenApiExample(
    "capped",
    value={
        "severity": "B",
        "matrix_severity": "A",
        "capped": True,
        "reasons": [
            {
                "code": "matrix",
                "policy": "POL-SEV-2",
                "message": "The service is unavailable for several users or services: "
                "severity A (critical).",
            },
            {
                "code": "cap_business_impact",
                "policy": "POL-SLA-2",
                "message": "Severity A needs a statement of the business impact; "
                "without one, this request is filed as B.",
            },
        ],
        "may_file": True,
        "refusal": None,
        "a_possible": True,
        "expected_wait": {
            "respond_by": "2026-06-10T14:00:00Z",
            "open_now": True,
            "waiting": 3,
        },
    },
    response_only=True,
)
REASON_EXAMPLE = OpenApiExample(
    "with a reason", value={"reason": "Fixed by the DNS change."}, request_only=True
)

# --- The desk ----------------------------------------------------------------------------

DESK_TICKET_EXAMPLE = OpenApiExample(
    "desk ticket",
    value={**_TICKET_EXAMPLE, "organization": "contoso", "assignee": None, "escalation_level": 0},
    response_only=True,
)

HAND_OVER_EXAMPLE = OpenApiExample(
    "hand over", value={"assignee": "anna@provider.example"}, request_only=True
)
DESK_REPLY_EXAMPLE = OpenApiExample(
    "reply", value={"kind": "reply", "body": "We are on it."}, request_only=True
)
DESK_UPLOAD_EXAMPLE = OpenApiExample(
    "reply with a file",
    summary="multipart/form-data: one `files` part per file",
    value={"kind": "reply", "body": "The setup guide is attached.", "files": ["guide.pdf"]},
    request_only=True,
    media_type="multipart/form-data",
)
