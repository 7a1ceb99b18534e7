"""The Redis cache, tolerant of Redis being away.

The cache holds only what can be rebuilt (API throttle counters, calendars' compiled
form): when Redis is down, a read is a miss and a write is skipped, so requests keep
working (the workers issue: "Redis stopped: ticket creation still succeeds"). The price
is that throttling fails open for the length of the outage.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis import ConnectionPool, Redis

logger = logging.getLogger(__name__)

# One warning per this many seconds, not one per request, while Redis is down.
_WARN_EVERY_SECONDS = 30.0
_last_warning = 0.0


def _unavailable(operation: str, error: RedisError) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("cache unavailable (%s): %s", operation, error.__class__.__name__)


class _ReusingClient(RedisCacheClient):
    """Django builds a ``redis.Redis`` per cache call; building one copies its table of
    ~80 response callbacks, a measurable share of a throttled API request. The clients
    are thread-safe over their connection pool, so one per pool is kept."""

    if TYPE_CHECKING:
        # The parts of Django's client this relies on, which django-stubs leaves out.
        _client: type[Redis]

        def _get_connection_pool_index(self, write: bool) -> int: ...
        def _get_connection_pool(self, write: bool) -> ConnectionPool: ...

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Redis:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._client(connection_pool=self._get_connection_pool(write))
            self._clients[index] = client
        return client


class TolerantRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except RedisError as error:
            _unavailable("get", error)
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except RedisError as error:
            _unavailable("get_many", error)
            return {}

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        try:
            super().set(key, value, timeout, version)
        except RedisError as error:
            _unavailable("set", error)

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        try:
            return super().add(key, value, timeout, version)
        except RedisError as error:
            _unavailable("add", error)
            return False

    def set_many(
        self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except RedisError as error:
            _unavailable("set_many", error)
            return list(data)

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except RedisError as error:
            _unavailable("delete", error)
            return False

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        try:
            return super().touch(key, timeout, version)
        except RedisError as error:
            _unavailable("touch", error)
            return False

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        """While Redis is away a counter starts afresh at ``delta`` (a rate limit counting
        with it lets the request through: fails open, as the module says)."""
        try:
            return super().incr(key, delta, version)
        except RedisError as error:
            _unavailable("incr", error)
            return delta

    def count(self, key: Any, timeout: int, version: int | None = None) -> int:
        """Add one to a counter that starts at zero and expires ``timeout`` seconds after
        its first count; the new count. One round trip: ``incr`` asks whether the key
        exists before adding (two), and a window's first count adds then counts again.
        While Redis is away every count is 1 (a rate limit fails open, as ``incr``)."""
        key = self.make_and_validate_key(key, version=version)
        try:
            pipeline = self._cache.get_client(key, write=True).pipeline(transaction=False)
            pipeline.set(key, 0, ex=timeout, nx=True)
            pipeline.incr(key)
            return int(pipeline.execute()[-1])
        except RedisError as error:
            _unavailable("count", error)
            return 1

    def decr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        try:
            return super().decr(key, delta, version)
        except RedisError as error:
            _unavailable("decr", error)
            return -delta

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except RedisError as error:
            _unavailable("has_key", error)
            return False
