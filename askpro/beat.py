"""One active Celery beat across hosts: a Redis lock with a TTL, renewed while beat runs.

Every host may run a beat (``celery -A askpro beat``); only the one holding the lock sends due
tasks. The others stay passive and try to take the lock every third of its TTL, so when the
active beat dies (process killed, host gone) another one takes over within
``ASKPRO_BEAT_LOCK_SECONDS``. A beat that stops cleanly releases the lock at once.

The lock is a Redis key with a random token (``SET NX PX``); renewing and releasing check the
token, so a beat that stalled past the TTL and lost the lock cannot extend or delete the new
holder's lock: it notices at its next tick and becomes passive.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import redis
from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger(__name__)

# Renew only if we still hold it (the token matches): atomic in Redis.
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def lock_key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', 'askpro')}:beat:lock"


class BeatLock:
    def __init__(self, client: redis.Redis, key: str, ttl_seconds: float) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.token = secrets.token_hex(16)
        self.held = False

    def hold(self) -> bool:
        """Renew the lock if held, else try to take it; True while this beat is the active one."""
        try:
            if self.held and self.client.eval(RENEW, 1, self.key, self.token, self.ttl_ms):
                return True
            self.held = bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))
        except redis.RedisError:
            logger.warning("beat lock: Redis unavailable; this beat does not schedule", exc_info=True)
            self.held = False
        return self.held

    def release(self) -> None:
        if self.held:
            try:
                self.client.eval(RELEASE, 1, self.key, self.token)
            except redis.RedisError:
                logger.warning("beat lock: not released (Redis unavailable); it expires with its TTL")
            self.held = False


class LockedScheduler(PersistentScheduler):
    """``beat_scheduler``: the persistent scheduler, ticking only while it holds the beat lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ttl = settings.ASKPRO_BEAT_LOCK_SECONDS
        self.lock = BeatLock(
            redis.Redis.from_url(settings.CACHES["default"]["LOCATION"], socket_connect_timeout=2, socket_timeout=2),
            lock_key(), ttl,
        )
        self.lock_check_interval = max(ttl / 3, 0.2)
        self._active: bool | None = None
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        active = self.lock.hold()
        if active != self._active:
            self._active = active
            if active:
                logger.info("beat lock acquired: this beat schedules the periodic tasks")
            else:
                logger.info("beat lock held by another beat: this beat stays passive")
        if not active:
            return self.lock_check_interval
        return min(super().tick(*args, **kwargs), self.lock_check_interval)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.lock.release()
