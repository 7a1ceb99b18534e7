"""Telephony API for agents (``/api/v1/calls/…``): start a call, send a code, check the
code the caller reads, end the call. Thin: parse → service → serialize.

Agent-authenticated (the browser session now; personal agent tokens join with the REST
API). A call id of another agent answers 404, like every foreign id.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.models import Organization
from verification import services
from verification.access import call_for_agent
from verification.models import Call, ChannelKind
from verification.selectors import channel_choices


class IsAgent(BasePermission):
    message = str(services.ERR_NOT_AGENT)

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_agent)


class CallStartIn(serializers.Serializer):
    organization = serializers.SlugField(max_length=60)
    caller_number = serializers.CharField(max_length=40)


class CodeSendIn(serializers.Serializer):
    channel_kind = serializers.ChoiceField(choices=ChannelKind.choices)
    channel_id = serializers.IntegerField(min_value=1)


class CodeCheckIn(serializers.Serializer):
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


def _error(error: services.VerificationError, http_status: int = 400) -> Response:
    return Response({"code": error.code, "message": error.message}, status=http_status)


class CallStartView(APIView):
    permission_classes = (IsAuthenticated, IsAgent)

    def post(self, request: Request) -> Response:
        data = CallStartIn(data=request.data)
        data.is_valid(raise_exception=True)
        organization = Organization.objects.filter(slug=data.validated_data["organization"]).first()
        if organization is None:
            raise Http404
        try:
            call = services.call_start(
                agent=request.user,
                organization=organization,
                caller_number=data.validated_data["caller_number"],
                now=timezone.now(),
            )
        except services.VerificationError as error:
            return _error(error)
        return Response(_call_out(call), status=status.HTTP_201_CREATED)


class CallDetailView(APIView):
    permission_classes = (IsAuthenticated, IsAgent)

    def get(self, request: Request, call_id: int) -> Response:
        return Response(_call_out(call_for_agent(request.user, call_id)))


class CodeSendView(APIView):
    permission_classes = (IsAuthenticated, IsAgent)

    def post(self, request: Request, call_id: int) -> Response:
        call = call_for_agent(request.user, call_id)
        data = CodeSendIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            challenge = services.code_send(
                call=call,
                agent=request.user,
                channel_id=data.validated_data["channel_id"],
                channel_kind=data.validated_data["channel_kind"],
            )
        except services.VerificationError as error:
            return _error(error, status.HTTP_429_TOO_MANY_REQUESTS if "rate" in error.code else 400)
        return Response(
            {
                "challenge": challenge.pk,
                "channel": challenge.channel_label,
                "expires_at": challenge.expires_at,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class CodeCheckView(APIView):
    permission_classes = (IsAuthenticated, IsAgent)

    def post(self, request: Request, call_id: int) -> Response:
        call = call_for_agent(request.user, call_id)
        data = CodeCheckIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            call = services.code_check(
                call=call, agent=request.user, entry=data.validated_data["code"]
            )
        except services.VerificationError as error:
            return _error(error)
        return Response(_call_out(call))


class CallEndView(APIView):
    permission_classes = (IsAuthenticated, IsAgent)

    def post(self, request: Request, call_id: int) -> Response:
        call = call_for_agent(request.user, call_id)
        try:
            call = services.call_end(call=call, agent=request.user)
        except services.VerificationError as error:
            return _error(error)
        return Response(_call_out(call))
