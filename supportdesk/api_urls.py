"""``/api/v1/`` (namespace ``api``): service requests for API keys, the desk and telephony
for agent tokens, webhooks, and the OpenAPI schema with Swagger UI and Redoc (served
offline from drf-spectacular-sidecar)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework import permissions
from rest_framework.views import APIView

from core.api_errors import error_body
from helpcenter import api as helpcenter_api
from tickets.api import customer as customer_api
from tickets.api import desk as desk_api
from webhooks import api as webhooks_api

app_name = "api"


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api_keys.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An organization API key (`sdk_…`, from the portal or "
                "`manage.py create_api_key`) or an agent's personal token (`sdt_…`)."
            ),
        }


class _Docs(APIView):
    """The schema and its viewers are public: they describe, they hold no data."""

    authentication_classes = ()
    permission_classes = (permissions.AllowAny,)
    throttle_classes = ()


class SchemaView(_Docs, SpectacularAPIView):
    pass


class SwaggerView(_Docs, SpectacularSwaggerView):
    pass


# Swagger UI and Redoc style their components from JavaScript (inline styles) and Redoc
# parses the schema in a blob: worker; their pages allow that, and nothing else more than
# the site's policy: scripts still need 'self' or the page's nonce.
_docs_csp = csp_override(
    {
        **settings.SECURE_CSP,
        "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
        "worker-src": [CSP.SELF, "blob:"],
        "img-src": [CSP.SELF, "data:"],
    }
)


class RedocView(_Docs, SpectacularRedocView):
    pass


urlpatterns = [
    path("tickets/", customer_api.TicketListCreate.as_view(), name="ticket-list"),
    path("tickets/<str:number>/", customer_api.TicketDetail.as_view(), name="ticket-detail"),
    path(
        "tickets/<str:number>/messages/",
        customer_api.TicketMessages.as_view(),
        name="ticket-messages",
    ),
    path(
        "tickets/<str:number>/attachments/",
        customer_api.TicketAttachments.as_view(),
        name="ticket-attachments",
    ),
    path(
        "tickets/<str:number>/attachments/<int:attachment_id>/",
        customer_api.TicketAttachmentDownload.as_view(),
        name="ticket-attachment",
    ),
    path("tickets/<str:number>/events/", customer_api.TicketEvents.as_view(), name="ticket-events"),
    path("tickets/<str:number>/sla/", customer_api.TicketSla.as_view(), name="ticket-sla"),
    path(
        "tickets/<str:number>/resolve/", customer_api.TicketResolve.as_view(), name="ticket-resolve"
    ),
    path("tickets/<str:number>/reopen/", customer_api.TicketReopen.as_view(), name="ticket-reopen"),
    path("tickets/<str:number>/rate/", customer_api.TicketRate.as_view(), name="ticket-rate"),
    path(
        "tickets/<str:number>/follow-up/",
        customer_api.TicketFollowUp.as_view(),
        name="ticket-follow-up",
    ),
    path("severity/assess/", customer_api.SeverityAssess.as_view(), name="severity-assess"),
    path("health/incidents/", helpcenter_api.IncidentList.as_view(), name="incident-list"),
    path("articles/", helpcenter_api.ArticleSearch.as_view(), name="article-search"),
    path("webhooks/", webhooks_api.EndpointList.as_view(), name="webhook-list"),
    path(
        "webhooks/<int:endpoint_id>/", webhooks_api.EndpointDetail.as_view(), name="webhook-detail"
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        webhooks_api.DeliveryList.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend/",
        webhooks_api.DeliveryResend.as_view(),
        name="webhook-delivery-resend",
    ),
    path("desk/queue/", desk_api.DeskQueue.as_view(), name="desk-queue"),
    path("desk/tickets/<str:number>/", desk_api.DeskTicket.as_view(), name="desk-ticket"),
    path("desk/tickets/<str:number>/claim/", desk_api.DeskClaim.as_view(), name="desk-claim"),
    path("desk/tickets/<str:number>/assign/", desk_api.DeskAssign.as_view(), name="desk-assign"),
    path("desk/tickets/<str:number>/replies/", desk_api.DeskReply.as_view(), name="desk-reply"),
    path(
        "desk/tickets/<str:number>/attachments/",
        desk_api.DeskAttachments.as_view(),
        name="desk-attachments",
    ),
    path(
        "desk/tickets/<str:number>/attachments/<int:attachment_id>/",
        desk_api.DeskAttachmentDownload.as_view(),
        name="desk-attachment",
    ),
    path("", include("verification.api_urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", _docs_csp(SwaggerView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", _docs_csp(RedocView.as_view(url_name="api:schema")), name="redoc"),
]


@csrf_exempt  # it changes nothing, and must answer JSON for every method
def not_found(request: HttpRequest, rest: str) -> JsonResponse:
    """Any other path under /api/v1/: a JSON 404 like every API error, not an HTML page."""
    return JsonResponse(error_body("not_found", _("Not found.")), status=404)


# Last: whatever no route above matched, line breaks included (``.`` would stop at one,
# and the site's HTML 404 answer an API path).
urlpatterns.append(re_path(r"^(?P<rest>[\s\S]*)$", not_found, name="not-found"))
