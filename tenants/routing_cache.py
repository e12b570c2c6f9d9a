"""A cross-process generation token for the short in-process caches of tenants and voice routes.

Web processes cache host -> tenant and (agent, number) -> tenant for ASKPRO_TENANT_CACHE_SECONDS.
A change that must take effect at once (a suspension) bumps a counter in Redis; every cached entry
remembers the generation it was filled under and counts only while that is still current. Without
Redis the entries simply expire after their TTL, as before.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.CACHES["default"]["LOCATION"], socket_connect_timeout=1, socket_timeout=1
        )
    return _client


def _key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'askpro')}:tenants:routing-generation"


def current() -> int | None:
    """The current generation, or None when Redis cannot be asked (then only the TTL applies)."""
    try:
        value = _redis().get(_key())
    except redis.RedisError:
        return None
    return int(value) if value is not None else 0


def bump() -> None:
    """Invalidate every process's cached tenants and routes (call after the change committed)."""
    try:
        _redis().incr(_key())
    except redis.RedisError:
        logger.warning("routing cache generation not bumped (Redis unavailable); caches expire by TTL")


def is_fresh(cached_generation: int | None) -> bool:
    generation = current()
    return generation is None or generation == cached_generation
