"""Machine credentials: organization API keys, personal agent tokens, and the
idempotency records of API writes (DESIGN.md "REST API").

A credential is ``<prefix>_<secret>``: the prefix (``sdk_ab12cd34`` for an API key,
``sdt_ab12cd34`` for an agent token) is stored in clear, shown in lists and used to find
the row; only the SHA-256 of the whole credential is stored. The secret carries 256 bits
from the CSPRNG, so a fast hash is enough (no password stretching is needed against
guessing), and the comparison is constant-time.

Imported by ``tenants.models`` so the models register with the ``tenants`` app.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

API_KEY_PREFIX = "sdk"
AGENT_TOKEN_PREFIX = "sdt"
# last_used_at is written at most this often, so a busy key does not cost a write per
# request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def credential_hash(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


def new_credential(kind: str) -> tuple[str, str]:
    """A fresh ``(prefix, full credential)`` pair; the full value is shown once."""
    prefix = f"{kind}_{secrets.token_hex(4)}"
    return prefix, f"{prefix}_{secrets.token_urlsafe(32)}"


def split_prefix(credential: str) -> str | None:
    """``sdk_ab12cd34_…`` → ``sdk_ab12cd34``; None when it has not that shape."""
    parts = credential.split("_", 2)
    if len(parts) != 3 or len(parts[1]) != 8 or not parts[2]:
        return None
    return f"{parts[0]}_{parts[1]}"


class CredentialQuerySet[M: models.Model](models.QuerySet[M]):
    def usable(self) -> CredentialQuerySet[M]:
        return self.filter(revoked_at__isnull=True)


class Credential(models.Model):
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def matches(self, credential: str) -> bool:
        return hmac.compare_digest(self.secret_hash, credential_hash(credential))

    def touch(self, now: datetime) -> None:
        """Record use, at most once per ``LAST_USED_RESOLUTION``; one conditional UPDATE."""
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        type(self)._default_manager.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        self.last_used_at = now


class ApiKey(Credential):
    """An organization's API key: its holder acts as an admin of that one organization
    with the key's role, under the same filing rules as the portal (POL-WHO-1/2)."""

    organization = models.ForeignKey(
        "tenants.Organization",
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("organization"),
    )
    role = models.CharField(_("role"), max_length=32)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    objects = CredentialQuerySet.as_manager()

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ("organization", "-created_at")
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["global_admin", "billing_admin", "service_support_admin"]),
                name="api_key_admin_role",
            )
        ]

    @property
    def role_label(self) -> str:
        # Imported here: tenants.models imports this module at its end to register it.
        from tenants.models import Role

        return str(Role(self.role).label) if self.role in Role.values else self.role

    @property
    def label(self) -> str:
        """How Events name the key (kept if the key is deleted)."""
        return f"API key {self.prefix} ({self.name})"


class ApiKeyAddress(models.Model):
    """An address an API key has been used from, and when first (issue 17): the first use
    from a new address is audited, so a key copied elsewhere shows up in the trail."""

    key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, related_name="addresses", verbose_name=_("API key")
    )
    ip = models.GenericIPAddressField(_("address"))
    first_seen_at = models.DateTimeField(_("first seen"))

    class Meta:
        verbose_name = _("API key address")
        verbose_name_plural = _("API key addresses")
        constraints = [models.UniqueConstraint(fields=["key", "ip"], name="api_key_address_unique")]

    def __str__(self) -> str:
        return f"{self.key_id} @ {self.ip}"


class AgentToken(Credential):
    """A support agent's personal token for the desk and telephony endpoints."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="agent_tokens",
        verbose_name=_("agent"),
    )

    objects = CredentialQuerySet.as_manager()

    class Meta:
        verbose_name = _("agent token")
        verbose_name_plural = _("agent tokens")
        ordering = ("user", "-created_at")


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an ``Idempotency-Key`` header.

    Unique per (organization, key): a retry of the same request gets this response back
    instead of a second write; the same key with another request is refused. Purged
    after ``IDEMPOTENCY_TTL_HOURS`` by a periodic task.
    """

    organization = models.ForeignKey(
        "tenants.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    # 0 while the first request is still being handled (inside its own transaction).
    response_status = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="idempotency_org_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.response_status}"
