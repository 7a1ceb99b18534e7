"""The help-centre API (``/api/v1/…``): current service incidents and article search,
open to any authenticated caller (POL-SELF-1..3)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import error_responses
from core.serializers import TextField
from helpcenter import selectors


class IncidentOut(serializers.Serializer):
    id = serializers.IntegerField()
    service = serializers.CharField(source="service.slug")
    title = serializers.CharField()
    summary = serializers.CharField()
    status = serializers.CharField()
    impact = serializers.CharField()
    started_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IncidentQuery(serializers.Serializer):
    service = serializers.SlugField(max_length=60, required=False)


class ArticleOut(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    excerpt = serializers.CharField()
    language = serializers.CharField()


class ArticleQuery(serializers.Serializer):
    q = TextField(max_length=200, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=[("en", "English"), ("pl", "Polski")], default="en")
    limit = serializers.IntegerField(min_value=1, max_value=50, default=8)


@extend_schema(
    summary="Current service incidents",
    description="Known incidents not yet resolved, the most severe first.",
    tags=["self-help"],
    parameters=[IncidentQuery],
    responses={200: IncidentOut(many=True), **error_responses(400, 401, 429)},
    examples=[
        OpenApiExample(
            "outage",
            value=[
                {
                    "id": 3,
                    "service": "exchange-online",
                    "title": "Delayed mail delivery",
                    "summary": "Some messages are delayed by up to 30 minutes.",
                    "status": "investigating",
                    "impact": "degraded",
                    "started_at": "2026-06-10T08:40:00Z",
                    "updated_at": "2026-06-10T09:10:00Z",
                }
            ],
            response_only=True,
        )
    ],
)
class IncidentList(APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        query = IncidentQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        incidents = selectors.current_incidents()
        if query.validated_data.get("service"):
            incidents = incidents.filter(service__slug=query.validated_data["service"])
        return Response(IncidentOut(incidents[:100], many=True).data)


@extend_schema(
    summary="Search help articles",
    description="Published articles matching the words, best first.",
    tags=["self-help"],
    parameters=[ArticleQuery],
    responses={200: ArticleOut(many=True), **error_responses(400, 401, 429)},
    examples=[
        OpenApiExample(
            "found",
            value=[
                {
                    "slug": "shared-mailbox-permissions",
                    "title": "Give someone access to a shared mailbox",
                    "excerpt": "Open the admin centre, choose the mailbox …",
                    "language": "en",
                }
            ],
            response_only=True,
        )
    ],
)
class ArticleSearch(APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        query = ArticleQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        values = query.validated_data
        articles = selectors.search_articles(
            values["q"], language=values["language"], limit=values["limit"]
        )
        return Response(ArticleOut(articles, many=True).data)


__all__ = ["ArticleSearch", "IncidentList"]
