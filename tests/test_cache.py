"""The cache answers a miss, not an error, while Redis is away (workers issue)."""

from __future__ import annotations

from supportdesk.cache import TolerantRedisCache


def test_a_dead_redis_is_a_miss_and_a_skipped_write() -> None:
    # Nothing listens on port 1: every command fails to connect.
    cache = TolerantRedisCache(
        "redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}}
    )
    assert cache.get("throttle:key", default=[]) == []
    cache.set("throttle:key", [1.0], 60)
    assert cache.add("other", 1) is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.delete("a") is False
    assert cache.incr("throttle:window") == 1  # a fresh count: the request goes through
    assert cache.has_key("a") is False
