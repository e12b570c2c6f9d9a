"""Resilient outbound HTTP: explicit timeouts, retries with backoff and jitter, a shared circuit breaker.

    client = ResilientClient("calcom", "https://api.cal.com", headers={"Authorization": "Bearer …"})
    response = client.request("GET", "/v2/bookings", params={...})

* Retries on connection errors, timeouts, 429 and 5xx with exponential backoff and jitter,
  honouring ``Retry-After``. Non-idempotent requests (POST, PATCH) are retried only when the
  request surely did not reach the provider (connect errors) or it refused with 429, unless the
  caller passes ``retry_unsafe=True`` (for requests carrying an idempotency key).
* A circuit breaker per provider keeps its state in Redis so every worker shares it:
  closed -> open after ``CIRCUIT_BREAKER_FAILURE_THRESHOLD`` consecutive failed calls -> after
  ``CIRCUIT_BREAKER_RESET_SECONDS`` half-open (one probe) -> closed on success, open on failure.
  Only unavailability counts (timeouts, connection errors, 5xx), not 4xx answers. If Redis itself
  is down the breaker lets calls through.
* Every attempt is logged (``integrations.http``) with provider, method, path, status, duration.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import redis
from django.conf import settings

from integrations.errors import CircuitOpen, ProviderUnavailable

logger = logging.getLogger("integrations.http")
T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
KNOWN_PROVIDERS = ("calcom", "stripe", "retell")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is not waited for: the caller gets the 429
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    def backoff(self, attempt: int) -> float:
        """Exponential with equal jitter: half fixed, half random."""
        delay = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return delay / 2 + random.uniform(0, delay / 2)


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


# --- circuit breaker ------------------------------------------------------------------------

_ALLOW = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local now = tonumber(ARGV[1])
if state == 'open' then
  local opened_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
  if now < opened_until then return {'open', tostring(opened_until)} end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probes', 0, 'open_until', tostring(now + tonumber(ARGV[3])))
  state = 'half_open'
end
if state == 'half_open' then
  local probes = tonumber(redis.call('HGET', KEYS[1], 'probes') or '0')
  if probes >= tonumber(ARGV[2]) then
    -- a probe that never reported (its worker died) frees its place after the reset time
    local probe_deadline = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
    if now < probe_deadline then return {'half_open_busy', tostring(probe_deadline)} end
    redis.call('HSET', KEYS[1], 'probes', 0, 'open_until', tostring(now + tonumber(ARGV[3])))
  end
  redis.call('HINCRBY', KEYS[1], 'probes', 1)
  return {'half_open', '0'}
end
return {'closed', '0'}
"""

_SUCCESS = """
local previous = redis.call('HGET', KEYS[1], 'state') or 'closed'
redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0, 'probes', 0, 'last_success_at', ARGV[1])
return previous
"""

_FAILURE = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local now = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'last_failure_at', ARGV[1], 'last_error', ARGV[4])
if state == 'half_open' then
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', tostring(now + tonumber(ARGV[3])), 'probes', 0, 'opened_at', ARGV[1])
  return 'open'
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if state == 'closed' and failures >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', tostring(now + tonumber(ARGV[3])), 'opened_at', ARGV[1])
  return 'open'
end
return state
"""

_redis_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(
            settings.CACHES["default"]["LOCATION"], socket_timeout=0.5, socket_connect_timeout=0.5,
            decode_responses=True,
        )
    return _redis_client


class CircuitBreaker:
    """Shared (Redis) breaker state of one provider. ``clock`` is injectable for tests."""

    def __init__(
        self, name: str, *, failure_threshold: int | None = None, reset_seconds: float | None = None,
        half_open_probes: int = 1, clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold or settings.CIRCUIT_BREAKER_FAILURE_THRESHOLD
        self.reset_seconds = reset_seconds or settings.CIRCUIT_BREAKER_RESET_SECONDS
        self.half_open_probes = half_open_probes
        self.clock = clock
        self.key = f"{settings.CACHES['default'].get('KEY_PREFIX', 'askpro')}:circuit:{name}"

    def _eval(self, script: str, *args: Any) -> Any:
        return _redis().eval(script, 1, self.key, *args)

    def before_call(self) -> str:
        """Raise :class:`CircuitOpen` when calls are paused; returns the state the call runs in."""
        try:
            state, until = self._eval(_ALLOW, self.clock(), self.half_open_probes, self.reset_seconds)
        except redis.RedisError as exc:
            logger.warning("circuit %s: Redis unavailable, letting the call through: %s", self.name, exc)
            return "unknown"
        if state in ("open", "half_open_busy"):
            retry_in = max(float(until) - self.clock(), 0.0)
            raise CircuitOpen(provider=self.name, details={"provider": self.name, "retry_in_seconds": round(retry_in, 1)})
        return str(state)

    def record_success(self) -> None:
        try:
            previous = self._eval(_SUCCESS, self.clock())
        except redis.RedisError:
            return
        if previous != "closed":
            logger.warning("circuit %s closed again after a successful call", self.name)

    def record_failure(self, error: str) -> None:
        try:
            state = self._eval(_FAILURE, self.clock(), self.failure_threshold, self.reset_seconds, error[:300])
        except redis.RedisError:
            return
        if state == "open":
            logger.error("circuit %s is open for %ss after: %s", self.name, self.reset_seconds, error[:300])

    def call(self, fn: Callable[..., T], *args: Any, is_failure: Callable[[BaseException], bool] = lambda e: True,
             **kwargs: Any) -> T:
        """Run ``fn`` under the breaker (for SDK clients such as ``stripe``); ``is_failure`` filters exceptions."""
        self.before_call()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            if is_failure(exc):
                self.record_failure(f"{type(exc).__name__}: {exc}")
            raise
        self.record_success()
        return result

    def snapshot(self) -> dict[str, Any]:
        data = _redis().hgetall(self.key)
        state = data.get("state", "closed")
        if state == "open" and float(data.get("open_until", 0)) <= self.clock():
            state = "half_open"  # the next call will probe
        return {
            "breaker": state,
            "failures": int(data.get("failures", 0)),
            "last_success_at": _iso(data.get("last_success_at")),
            "last_failure_at": _iso(data.get("last_failure_at")),
            "last_error": data.get("last_error", ""),
        }

    def reset(self) -> None:
        _redis().delete(self.key)


def _iso(stamp: str | bytes | None) -> str | None:
    # The client decodes responses, so ``stamp`` is a str; redis-py's types do not know that.
    return datetime.fromtimestamp(float(stamp), UTC).isoformat() if stamp else None


def breaker_for(provider: str) -> CircuitBreaker:
    return CircuitBreaker(provider)


def breaker_health(provider: str) -> dict[str, Any]:
    """For ``/api/health/detailed``: ``ok`` when closed, ``degraded`` while open or probing."""
    snapshot = breaker_for(provider).snapshot()
    return {"status": "ok" if snapshot["breaker"] == "closed" else "degraded", **snapshot}


# --- client ---------------------------------------------------------------------------------


class ResilientClient:
    """An ``httpx.Client`` with the retry policy and circuit breaker of one provider."""

    def __init__(
        self, provider: str, base_url: str, *, headers: dict[str, str] | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT, retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None, transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or breaker_for(provider)
        self.sleep = sleep
        self._client = httpx.Client(base_url=base_url, headers=headers or {}, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ResilientClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
        headers: dict[str, str] | None = None, retry_unsafe: bool = False,
    ) -> httpx.Response:
        """Send with retries; returns the final response (any status) or raises ProviderUnavailable/CircuitOpen."""
        method = method.upper()
        safe_to_repeat = retry_unsafe or method in IDEMPOTENT_METHODS
        self.breaker.before_call()
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = self._client.request(method, path, params=params, json=json, headers=headers)
            except httpx.TransportError as exc:
                elapsed = _ms(started)
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                self._log(method, path, None, elapsed, attempt, type(exc).__name__)
                if attempt < self.retry.max_attempts and (safe_to_repeat or never_sent):
                    self.sleep(self.retry.backoff(attempt))
                    continue
                self.breaker.record_failure(f"{type(exc).__name__}: {exc}")
                raise ProviderUnavailable(provider=self.provider, details={"provider": self.provider, "error": type(exc).__name__}) from exc
            elapsed = _ms(started)
            status = response.status_code
            self._log(method, path, status, elapsed, attempt, "ok" if status < 400 else "error")
            if status in self.retry.retry_statuses and attempt < self.retry.max_attempts and (safe_to_repeat or status == 429):
                delay = retry_after_seconds(response)
                delay = self.retry.backoff(attempt) if delay is None else delay
                if delay <= self.retry.max_retry_after:
                    response.close()
                    self.sleep(delay)
                    continue
            if status >= 500:
                self.breaker.record_failure(f"HTTP {status} {method} {path}")
            else:
                self.breaker.record_success()
            return response

    def _log(self, method: str, path: str, status: int | None, elapsed_ms: float, attempt: int, outcome: str) -> None:
        level = logging.INFO if status is not None and status < 400 else logging.WARNING
        logger.log(level, "%s %s %s -> %s in %.1f ms (attempt %s, %s)", self.provider, method, path,
                   status if status is not None else "-", elapsed_ms, attempt, outcome,
                   extra={"provider": self.provider, "duration_ms": elapsed_ms, "status": status, "outcome": outcome})


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


@contextmanager
def provider_client(provider: str, base_url: str, **kwargs: Any) -> Iterator[ResilientClient]:
    client = ResilientClient(provider, base_url, **kwargs)
    try:
        yield client
    finally:
        client.close()
