"""Telephony API for agents (``/api/v1/calls/…``): start a call, send a code, check the
code the caller reads, end the call. Thin: parse → service → serialize.

Agent-authenticated: the browser session, or a personal agent token
(``Authorization: Bearer sdt_…``). To anyone else the endpoints do not exist (404), like
the desk pages; a call id of another agent answers 404, like every foreign id.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import error_responses
from core.serializers import StrictSerializer
from tenants.api_tenancy import IsAgent, request_agent
from tenants.models import Organization
from verification import services
from verification.access import call_for_agent
from verification.models import Call, ChannelKind
from verification.selectors import channel_choices


class CallStartIn(StrictSerializer):
    organization = serializers.SlugField(max_length=60)
    caller_number = serializers.CharField(max_length=40)


class CodeSendIn(StrictSerializer):
    channel_kind = serializers.ChoiceField(choices=ChannelKind.choices)
    channel_id = serializers.IntegerField(min_value=1)


class CodeCheckIn(StrictSerializer):
    code = serializers.CharField(max_length=32)


def _call_out(call: Call) -> dict[str, Any]:
    now = timezone.now()
    verified = call.verified_at is not None
    body: dict[str, Any] = {
        "id": call.pk,
        "organization": call.organization.slug,
        "caller_number": str(call.caller_number),
        "status": (
            "ended"
            if call.ended_at
            else "verified"
            if verified and call.expires_at > now
            else "expired"
            if call.expires_at <= now
            else "challenge_required"
        ),
        "verified_by": call.verified_by or None,
        "started_at": call.started_at,
        "access_until": call.expires_at if verified and not call.ended_at else None,
    }
    if not verified and not call.ended_at:
        body["channels"] = [
            {
                "kind": choice.kind,
                "id": choice.id,
                "label": choice.label,
                "usable": choice.usable,
                "usable_from": choice.usable_from,
            }
            for choice in channel_choices(organization=call.organization, now=now)
        ]
    return body


class ChannelOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    id = serializers.IntegerField()
    # The serializer's metaclass moves declared fields off the class, so this never
    # shadows Field.label at run time; the stubs cannot know that.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="Masked: j***@contoso.com, +48 *** *** 123"
    )
    usable = serializers.BooleanField()
    usable_from = serializers.DateTimeField()


CALL_STATUSES = ["challenge_required", "verified", "expired", "ended"]


class CallOut(serializers.Serializer):
    id = serializers.IntegerField()
    organization = serializers.CharField()
    caller_number = serializers.CharField()
    status = serializers.ChoiceField(choices=["challenge_required", "verified", "expired", "ended"])
    verified_by = serializers.CharField(allow_null=True)
    started_at = serializers.DateTimeField()
    access_until = serializers.DateTimeField(allow_null=True)
    channels = ChannelOut(many=True, required=False)


class ChallengeOut(serializers.Serializer):
    challenge = serializers.IntegerField()
    channel = serializers.CharField()
    expires_at = serializers.DateTimeField()


_TAGS = ["calls"]
_CALL_EXAMPLE = OpenApiExample(
    "call",
    value={
        "id": 12,
        "organization": "contoso",
        "caller_number": "+48600100200",
        "status": "challenge_required",
        "verified_by": None,
        "started_at": "2026-06-10T10:00:00Z",
        "access_until": None,
        "channels": [
            {
                "kind": "email",
                "id": 3,
                "label": "j***@contoso.com",
                "usable": True,
                "usable_from": "2026-06-01T10:00:00Z",
            }
        ],
    },
    response_only=True,
)


@extend_schema(
    summary="Start a phone call",
    description=(
        "A caller whose number is registered is verified at once (POL-PIN-3); otherwise "
        "the call needs a code sent to a registered contact (POL-PIN-1)."
    ),
    tags=_TAGS,
    request=CallStartIn,
    responses={201: CallOut, **error_responses(400, 401, 403, 404, 413, 415, 429)},
    examples=[
        OpenApiExample(
            "start",
            value={"organization": "contoso", "caller_number": "+48600100200"},
            request_only=True,
        ),
        _CALL_EXAMPLE,
    ],
)
class CallStartView(APIView):
    permission_classes = (IsAgent,)

    def post(self, request: Request) -> Response:
        data = CallStartIn(data=request.data)
        data.is_valid(raise_exception=True)
        organization = Organization.objects.filter(slug=data.validated_data["organization"]).first()
        if organization is None:
            raise Http404
        call = services.call_start(
            agent=request_agent(request),
            organization=organization,
            caller_number=data.validated_data["caller_number"],
            now=timezone.now(),
        )
        return Response(_call_out(call), status=status.HTTP_201_CREATED)


@extend_schema(
    summary="Read a call",
    tags=_TAGS,
    responses={200: CallOut, **error_responses(401, 404, 429)},
    examples=[_CALL_EXAMPLE],
)
class CallDetailView(APIView):
    permission_classes = (IsAgent,)

    def get(self, request: Request, call_id: int) -> Response:
        return Response(_call_out(call_for_agent(request_agent(request), call_id)))


@extend_schema(
    summary="Send a verification code",
    description="To a registered contact of the organization (POL-PIN-1); rate-limited.",
    tags=_TAGS,
    request=CodeSendIn,
    responses={202: ChallengeOut, **error_responses(400, 401, 403, 404, 413, 415, 429)},
    examples=[
        OpenApiExample("by e-mail", value={"channel_kind": "email", "channel_id": 3},
                       request_only=True),
        OpenApiExample(
            "sent",
            value={"challenge": 5, "channel": "j***@contoso.com",
                   "expires_at": "2026-06-10T10:10:00Z"},
            status_codes=["202"],
            response_only=True,
        ),
    ],
)  # fmt: skip
class CodeSendView(APIView):
    permission_classes = (IsAgent,)

    def post(self, request: Request, call_id: int) -> Response:
        call = call_for_agent(request_agent(request), call_id)
        data = CodeSendIn(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = services.code_send(
            call=call,
            agent=request_agent(request),
            channel_id=data.validated_data["channel_id"],
            channel_kind=data.validated_data["channel_kind"],
            now=timezone.now(),
        )
        return Response(
            {
                "challenge": challenge.pk,
                "channel": challenge.channel_label,
                "expires_at": challenge.expires_at,
            },
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema(
    summary="Check the code the caller reads",
    description="Success grants access to the organization for this call (POL-PIN-2).",
    tags=_TAGS,
    request=CodeCheckIn,
    responses={200: CallOut, **error_responses(400, 401, 403, 404, 413, 415, 429)},
    examples=[OpenApiExample("code", value={"code": "12345678"}, request_only=True), _CALL_EXAMPLE],
)
class CodeCheckView(APIView):
    permission_classes = (IsAgent,)

    def post(self, request: Request, call_id: int) -> Response:
        call = call_for_agent(request_agent(request), call_id)
        data = CodeCheckIn(data=request.data)
        data.is_valid(raise_exception=True)
        call = services.code_check(
            call=call,
            agent=request_agent(request),
            entry=data.validated_data["code"],
            now=timezone.now(),
        )
        return Response(_call_out(call))


@extend_schema(
    summary="End a call",
    description="Ends the access the call granted.",
    tags=_TAGS,
    request=None,
    responses={200: CallOut, **error_responses(400, 401, 403, 404, 429)},
    examples=[_CALL_EXAMPLE],
)
class CallEndView(APIView):
    permission_classes = (IsAgent,)

    def post(self, request: Request, call_id: int) -> Response:
        call = call_for_agent(request_agent(request), call_id)
        call = services.call_end(call=call, agent=request_agent(request), now=timezone.now())
        return Response(_call_out(call))
