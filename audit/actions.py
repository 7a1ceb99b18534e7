"""Every action the audit trail records (issue 17): one code per kind of change to who can
do what, or to what customers rely on. The viewer filters by these codes; the labels are
what people read."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    # Sign-in and second factors.
    SIGNIN = "signin", _("Signed in")
    SIGNIN_FAILED = "signin.failed", _("Sign-in failed")
    SIGNIN_SSO = "signin.sso", _("Signed in with single sign-on")
    SIGNOUT = "signout", _("Signed out")
    PASSWORD_CHANGED = "password.changed", _("Password changed")
    ACCOUNT_ACCESS_CHANGED = "account.access_changed", _("Account's access changed")
    MFA_ADDED = "mfa.added", _("Second factor added")
    MFA_REMOVED = "mfa.removed", _("Second factor removed")
    MFA_RECOVERY_CODES = "mfa.recovery_codes", _("Recovery codes generated")
    MFA_RECOVERY_USED = "mfa.recovery_used", _("Recovery code used")
    MFA_REQUIRED_CHANGED = "mfa.required_changed", _("Second factor requirement changed")
    # API keys.
    API_KEY_CREATED = "api_key.created", _("API key created")
    API_KEY_REVOKED = "api_key.revoked", _("API key revoked")
    API_KEY_NEW_ADDRESS = "api_key.new_address", _("API key used from a new address")
    AGENT_TOKEN_CREATED = "agent_token.created", _("Agent token issued")
    AGENT_TOKEN_REVOKED = "agent_token.revoked", _("Agent token revoked")
    # Webhooks.
    WEBHOOK_CREATED = "webhook.created", _("Webhook created")
    WEBHOOK_CHANGED = "webhook.changed", _("Webhook changed")
    WEBHOOK_PAUSED = "webhook.paused", _("Webhook paused")
    WEBHOOK_RESUMED = "webhook.resumed", _("Webhook resumed")
    WEBHOOK_DELETED = "webhook.deleted", _("Webhook deleted")
    WEBHOOK_RESENT = "webhook.resent", _("Webhook delivery sent again")
    WEBHOOK_CIRCUIT_OPENED = "webhook.circuit_opened", _("Webhook stopped after failures")
    # Members, roles and registered contacts.
    MEMBER_ADDED = "member.added", _("Member added")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("Member's role changed")
    MEMBER_REMOVED = "member.removed", _("Member removed")
    CONTACT_ADDED = "contact.added", _("Registered contact added")
    CONTACT_REMOVED = "contact.removed", _("Registered contact removed")
    CONTACT_REFUSED = "contact.refused", _("Registered contact change refused")
    # The organization and what its customers rely on.
    ORGANIZATION_CHANGED = "organization.changed", _("Organization settings changed")
    ARTICLE_CREATED = "article.created", _("Article created")
    ARTICLE_CHANGED = "article.changed", _("Article changed")
    ARTICLE_DELETED = "article.deleted", _("Article deleted")
    ARTICLE_PUBLISHED = "article.published", _("Article published")
    ARTICLE_UNPUBLISHED = "article.unpublished", _("Article unpublished")
    INCIDENT_CHANGED = "incident.changed", _("Incident notice changed")
    SLA_POLICY_CHANGED = "sla_policy.changed", _("SLA policy changed")
    SLA_POLICY_PUBLISHED = "sla_policy.published", _("SLA policy version published")
    CALENDAR_CHANGED = "calendar.changed", _("Business calendar changed")
    MACRO_CREATED = "macro.created", _("Macro created")
    MACRO_CHANGED = "macro.changed", _("Macro changed")
    MACRO_DELETED = "macro.deleted", _("Macro deleted")
    # The provider's reference data: the product list, phone lines and partners.
    PRODUCT_CREATED = "product.created", _("Product created")
    PRODUCT_CHANGED = "product.changed", _("Product changed")
    PRODUCT_DELETED = "product.deleted", _("Product deleted")
    SUPPORT_LINE_CREATED = "support_line.created", _("Support phone line created")
    SUPPORT_LINE_CHANGED = "support_line.changed", _("Support phone line changed")
    SUPPORT_LINE_DELETED = "support_line.deleted", _("Support phone line deleted")
    PARTNER_CREATED = "partner.created", _("Partner created")
    PARTNER_CHANGED = "partner.changed", _("Partner changed")
    PARTNER_DELETED = "partner.deleted", _("Partner deleted")
    # Who on the desk is told about a request.
    TICKET_FOLLOWED = "ticket.followed", _("Request followed")
    TICKET_UNFOLLOWED = "ticket.unfollowed", _("Request unfollowed")
    # Privacy.
    EXPORT_REQUESTED = "privacy.export_requested", _("Data export requested")
    EXPORT_DOWNLOADED = "privacy.export_downloaded", _("Data export downloaded")
    PERSON_ERASED = "privacy.person_erased", _("Person erased")
    RETENTION_CHANGED = "privacy.retention_changed", _("Retention period changed")
    RETENTION_PURGED = "privacy.retention_purged", _("Closed requests purged")


# Support's own business (as the customer's timeline leaves out assignment): on the desk's
# viewer only, never on the organization's, although the rows name the organization.
DESK_ONLY_ACTIONS = frozenset({Action.TICKET_FOLLOWED, Action.TICKET_UNFOLLOWED})


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    DESK = "desk", _("Desk")
    API = "api", _("API")
    ADMIN = "admin", _("Django admin")
    WEB = "web", _("Web")
    SYSTEM = "system", _("Automatic")
