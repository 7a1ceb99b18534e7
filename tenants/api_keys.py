"""API keys and agent tokens: issuing, revoking, and authenticating REST requests.

``Authorization: Bearer sdk_…`` acts as an admin of the key's organization with the
key's role (POL-WHO-1/2 apply as in the portal); ``Authorization: Bearer sdt_…`` acts as
the agent who owns the token. A revoked, unknown or malformed credential is refused
with the same answer, so a probe learns nothing about which keys exist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from audit import services as audit
from audit.actions import Action
from core import observability
from core.refusals import Refused
from tenants.credentials import (
    AGENT_TOKEN_PREFIX,
    API_KEY_PREFIX,
    AgentToken,
    ApiKey,
    ApiKeyAddress,
    credential_hash,
    new_credential,
    split_prefix,
)
from tenants.models import Organization, Role, User

ERR_BAD_CREDENTIAL = _("The API key or token is not valid, or has been revoked.")
ERR_ROLE_NOT_ADMIN = _("An API key acts as an admin: choose an admin role.")
ERR_NOT_AGENT = _("Agent tokens are issued to support staff only.")


class CredentialError(Refused):
    """A refused API key or agent token."""


@dataclass(frozen=True, slots=True)
class Issued[C: (ApiKey, AgentToken)]:
    """A new credential and its full value, which is shown once and never stored."""

    credential: C
    secret: str


@transaction.atomic
def api_key_create(
    *, organization: Organization, name: str, role: str, created_by: User | None, now: datetime
) -> Issued[ApiKey]:
    if role not in Role.admin_roles():
        raise CredentialError(ERR_ROLE_NOT_ADMIN, field="role")
    prefix, secret = new_credential(API_KEY_PREFIX)
    key = ApiKey.objects.create(
        organization=organization,
        name=name.strip(),
        role=role,
        prefix=prefix,
        secret_hash=credential_hash(secret),
        created_by=created_by,
        created_at=now,
    )
    audit.record(
        action=Action.API_KEY_CREATED,
        actor=created_by,
        organization=organization,
        target=key,
        target_label=key.label,
        after={"name": key.name, "role": key.role, "prefix": key.prefix},
        now=now,
    )
    return Issued(key, secret)


@transaction.atomic
def api_key_revoke(*, key: ApiKey, now: datetime, actor: User | None = None) -> ApiKey:
    """Revoking twice keeps the first time (and is audited once)."""
    revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    key.refresh_from_db(fields=["revoked_at"])
    if revoked:
        audit.record(
            action=Action.API_KEY_REVOKED,
            actor=actor,
            organization=key.organization_id,
            target=key,
            target_label=key.label,
            before={"revoked": False},
            after={"revoked": True},
            now=now,
        )
    return key


# How long a (key, address) pair already seen is remembered in the cache: within it, a
# request costs no query for this check.
ADDRESS_SEEN_TTL = 60 * 60


def _address_cache_key(key_id: int, ip: str) -> str:
    return f"apikey-address:{key_id}:{ip}"


def api_key_note_address(*, key: ApiKey, ip: str | None, now: datetime) -> bool:
    """Remember the address a key is used from; the first use from an address is audited
    (True). On the hot path: a cache hit costs nothing, a miss one indexed lookup."""
    if not ip or key.pk is None:
        return False
    cache_key = _address_cache_key(key.pk, ip)
    if cache.get(cache_key):
        return False
    new = False
    if not ApiKeyAddress.objects.filter(key_id=key.pk, ip=ip).exists():
        try:
            with transaction.atomic():
                ApiKeyAddress.objects.create(key=key, ip=ip, first_seen_at=now)
                audit.record(
                    action=Action.API_KEY_NEW_ADDRESS,
                    organization=key.organization_id,
                    actor_label=key.label,
                    target=key,
                    target_label=key.label,
                    after={"address": ip},
                    now=now,
                )
            new = True
        except IntegrityError:  # the same address, noted a moment ago by another request
            pass
    cache.set(cache_key, 1, timeout=ADDRESS_SEEN_TTL)
    return new


@transaction.atomic
def agent_token_revoke(
    *, token: AgentToken, now: datetime, actor: User | None = None
) -> AgentToken:
    """Revoking twice keeps the first time (and is audited once)."""
    revoked = AgentToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db(fields=["revoked_at"])
    if revoked:
        audit.record(
            action=Action.AGENT_TOKEN_REVOKED,
            actor=actor,
            target=token,
            before={"revoked": False},
            after={"revoked": True},
            now=now,
        )
    return token


@transaction.atomic
def agent_token_create(
    *, user: User, name: str, now: datetime, actor: User | None = None
) -> Issued[AgentToken]:
    if not user.is_agent:
        raise CredentialError(ERR_NOT_AGENT, field="user")
    prefix, secret = new_credential(AGENT_TOKEN_PREFIX)
    token = AgentToken.objects.create(
        user=user, name=name.strip(), prefix=prefix, secret_hash=credential_hash(secret),
        created_at=now,
    )  # fmt: skip
    audit.record(
        action=Action.AGENT_TOKEN_CREATED,
        actor=actor,
        target=token,
        after={"agent": user.email, "name": token.name, "prefix": token.prefix},
        now=now,
    )
    return Issued(token, secret)


class ApiKeyPrincipal:
    """``request.user`` for a request made with an organization API key: authenticated,
    no person behind it, never staff."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_agent = False
    is_supervisor = False
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def __str__(self) -> str:
        return self.key.label


class BearerAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <API key or agent token>``."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[object, ApiKey | AgentToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: session authentication may still apply
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(ERR_BAD_CREDENTIAL)
        try:
            credential = header[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed(ERR_BAD_CREDENTIAL) from error
        return self._resolve(request, credential)

    def _resolve(self, request: Request, credential: str) -> tuple[object, ApiKey | AgentToken]:
        prefix = split_prefix(credential)
        now = timezone.now()
        if prefix is not None and prefix.startswith(f"{API_KEY_PREFIX}_"):
            # The prefix is unique: get() asks without the ordering first() would add.
            key: ApiKey | None
            try:
                key = ApiKey.objects.usable().select_related("organization").get(prefix=prefix)
            except ApiKey.DoesNotExist:
                key = None
            if key is not None and key.matches(credential):
                key.touch(now)
                # REMOTE_ADDR only, as the audit context: a forwarded header is the
                # client's word.
                api_key_note_address(key=key, ip=request.META.get("REMOTE_ADDR"), now=now)
                # The organization is known only now (not from the URL): log lines say it.
                observability.bind(organization=key.organization.slug)
                return ApiKeyPrincipal(key), key
        elif prefix is not None and prefix.startswith(f"{AGENT_TOKEN_PREFIX}_"):
            token = (
                AgentToken.objects.usable()
                .select_related("user")
                .filter(prefix=prefix, user__is_active=True)
                .first()
            )
            if token is not None and token.matches(credential) and token.user.is_agent:
                token.touch(now)
                return token.user, token
        raise exceptions.AuthenticationFailed(ERR_BAD_CREDENTIAL)

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 when unauthenticated.
        return f'{self.keyword} realm="api"'


class CredentialRateThrottle(BaseThrottle):
    """One bucket per API key, per agent token, or per signed-in user (browser).

    A fixed-window counter in the shared cache (``incr``: atomic across workers, O(1) per
    request), rather than DRF's sliding-window list of timestamps, which is re-read and
    re-written whole on every request and races between workers. A client may burst up
    to twice the rate across a window boundary; the rate is a guard, not a quota."""

    scope = "credential"
    _PERIODS: ClassVar[dict[str, int]] = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def rate(self) -> tuple[int, int] | None:
        # Read on every request, so a changed setting applies at once.
        from rest_framework.settings import api_settings

        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if rate is None:
            return None
        # "600/min", as DRF documents its rates (its type stubs say a number).
        count, period = str(rate).split("/")
        return int(count), self._PERIODS[period.strip()[0]]

    def ident(self, request: Request) -> str:
        auth = request.auth
        if isinstance(auth, ApiKey):
            return f"key:{auth.pk}"
        if isinstance(auth, AgentToken):
            return f"token:{auth.pk}"
        if request.user is not None and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request: Request, view: object) -> bool:
        rate = self.rate()
        if rate is None:
            return True
        limit, period = rate
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{self.ident(request)}:{window}"
        if _count(key, timeout=period + 1) <= limit:
            return True
        self.retry_after = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self.retry_after


def _count(key: str, *, timeout: int) -> int:
    """One more request in the window ``key``, which expires ``timeout`` seconds after its
    first. The Redis cache (``supportdesk.cache``) counts in one round trip; any other
    backend with ``incr``, and ``add`` for a window's first request."""
    count_in_one_trip = getattr(cache, "count", None)
    if count_in_one_trip is not None:
        return int(count_in_one_trip(key, timeout))
    try:
        return cache.incr(key)
    except ValueError:  # the window's first request
        return 1 if cache.add(key, 1, timeout=timeout) else cache.incr(key)
