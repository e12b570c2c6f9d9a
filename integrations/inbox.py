"""The webhook processor: handler and tenant-resolver registries, and processing of one stored event.

Domain apps plug in from ``<app>/webhook_handlers.py`` (discovered automatically)::

    from integrations.inbox import IgnoreEvent, tenant_resolver, webhook_handler

    @webhook_handler("retell", "call_ended", "call_analyzed")
    def record_call(event: WebhookEvent) -> None:
        ...  # runs in the event's tenant schema, inside a transaction; must be idempotent

    @tenant_resolver("stripe")
    def tenant_from_customer(payload: dict) -> Tenant | None:
        ...

A handler that raises is retried with exponential backoff (``WEBHOOK_RETRY_BASE_SECONDS`` * 2^n,
at most ``WEBHOOK_MAX_ATTEMPTS`` attempts), then the event is ``failed`` for an operator.
``IgnoreEvent`` marks it ``ignored``, ``MalformedEvent`` ``malformed`` (final, no retry). Event
types without a handler are stored and ignored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from askpro.discovery import app_modules
from askpro.logging import correlation_id
from askpro.tenancy import use_public_schema
from integrations.models import WebhookEvent

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

PROVIDERS = ("stripe", "retell", "calcom")

Handler = Callable[[WebhookEvent], None]
TenantResolver = Callable[[dict[str, Any]], "Tenant | None"]

_handlers: dict[tuple[str, str], list[Handler]] = defaultdict(list)
_resolvers: dict[str, list[TenantResolver]] = defaultdict(list)
_discovered = False
_discovery_lock = threading.Lock()
# namespace for pg advisory locks held while an event is processed ("WH" << 48)
_LOCK_NAMESPACE = 0x5748 << 48
PERMANENT_TENANT_SUSPENDED = "TenantSuspended"


class IgnoreEvent(Exception):
    """Raised by a handler: this event needs nothing (marks it ``ignored`` with the reason)."""

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(reason)


class MalformedEvent(Exception):
    """Raised by a handler: the event lacks what it needs (e.g. a booking without uid); it is kept
    as ``malformed`` at once, never retried, since the same body would fail again."""

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(reason)


def webhook_handler(provider: str, *event_types: str) -> Callable[[Handler], Handler]:
    """Register ``fn(event)`` for these event types of ``provider``; several handlers run in order."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown webhook provider {provider!r}")
    if not event_types:
        raise ValueError("name at least one event type")

    def register(handler: Handler) -> Handler:
        for event_type in event_types:
            if handler not in _handlers[(provider, event_type)]:
                _handlers[(provider, event_type)].append(handler)
        return handler

    return register


def unregister_handler(handler: Handler) -> None:
    for registered in _handlers.values():
        if handler in registered:
            registered.remove(handler)


def tenant_resolver(provider: str) -> Callable[[TenantResolver], TenantResolver]:
    """Register ``fn(payload) -> Tenant | None``; resolvers are asked in order until one answers."""

    def register(resolver: TenantResolver) -> TenantResolver:
        if resolver not in _resolvers[provider]:
            _resolvers[provider].append(resolver)
        return resolver

    return register


def discover_handlers() -> None:
    """Import every domain app's ``webhook_handlers`` module once per process."""
    global _discovered
    if _discovered:
        return
    with _discovery_lock:
        if not _discovered:
            import integrations.providers  # noqa: F401  (the built-in tenant resolvers)

            app_modules("webhook_handlers")
            _discovered = True


def handlers_for(provider: str, event_type: str) -> list[Handler]:
    discover_handlers()
    return list(_handlers.get((provider, event_type), []))


def has_handler(provider: str, event_type: str) -> bool:
    return bool(handlers_for(provider, event_type))


def resolve_tenant(provider: str, payload: dict[str, Any]) -> Tenant | None:
    """Ask the provider's registered resolvers in order; a failing resolver is logged and skipped."""
    discover_handlers()
    for resolver in _resolvers.get(provider, []):
        try:
            with schema_context(get_public_schema_name()):
                tenant = resolver(payload)
        except Exception:
            logger.exception("tenant resolver %s failed for a %s webhook", resolver.__name__, provider)
            continue
        if tenant is not None:
            return tenant
    return None


def resolve_retell_tenant(payload: dict[str, Any]) -> Tenant | None:
    """The tenant of a Retell webhook (call metadata, agent id or dialled number, then extensions)."""
    return resolve_tenant("retell", payload)


def resolve_stripe_tenant(payload: dict[str, Any]) -> Tenant | None:
    """The tenant of a Stripe event (``data.object.metadata.tenant``, then billing's resolvers)."""
    return resolve_tenant("stripe", payload)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failure: base, 2*base, 4*base, ... capped."""
    seconds = settings.WEBHOOK_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.WEBHOOK_RETRY_MAX_SECONDS))


@contextmanager
def _processing_lock(event_id: int) -> Iterator[bool]:
    """A session-level advisory lock: held by one worker per event, released if the worker dies."""
    key = _LOCK_NAMESPACE | event_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def process_event(event_id: int, *, now: datetime | None = None, force: bool = False) -> str:
    """Run the handlers of one stored event once; returns the resulting status (or why it did not run).

    Safe to call any number of times and concurrently: a final event is left alone, a locked one
    is skipped, and one that is not yet due for its retry waits unless ``force``.
    """
    use_public_schema()
    with _processing_lock(event_id) as acquired:
        if not acquired:
            return "busy"
        now = now or timezone.now()
        with transaction.atomic():
            event = WebhookEvent.objects.select_for_update(of=("self",)).select_related("tenant").filter(pk=event_id).first()
            if event is None:
                return "missing"
            if event.status in WebhookEvent.FINAL_STATUSES or (event.status == WebhookEvent.Status.FAILED and not force):
                return str(event.status)
            if event.next_attempt_at and event.next_attempt_at > now and not force:
                return "not_due"
            event.status = WebhookEvent.Status.PROCESSING
            event.attempts += 1
            event.processing_started_at = now
            event.save(update_fields=["status", "attempts", "processing_started_at"])
        return _run_handlers(event, now)


def _run_handlers(event: WebhookEvent, now: datetime) -> str:
    token = correlation_id.set(event.correlation_id or f"webhook-{event.pk}")
    started = time.perf_counter()
    outcome: str = WebhookEvent.Status.PROCESSED
    error = ""
    try:
        outcome, error = _dispatch(event)
    except Exception as exc:
        logger.warning("webhook %s (%s %s) failed on attempt %s: %s", event.pk, event.provider,
                       event.event_type, event.attempts, exc, exc_info=True)
        outcome, error = WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        use_public_schema()
        correlation_id.reset(token)
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    return _record_outcome(event.pk, outcome, error, elapsed_ms, now + timedelta(milliseconds=elapsed_ms))


def _dispatch(event: WebhookEvent) -> tuple[str, str]:
    from integrations.signatures import parse_json_object

    if event.payload is None:
        parse_json_object(bytes(event.raw_body))  # raises MalformedPayload: a permanent failure
    if event.tenant_id is None:
        from integrations.providers import provider_spec

        tenant = provider_spec(event.provider).resolve_tenant(event.payload or {})
        if tenant is not None:
            WebhookEvent.objects.filter(pk=event.pk).update(tenant=tenant)
            event.tenant = tenant
    handlers = handlers_for(event.provider, event.event_type)
    if not handlers:
        return WebhookEvent.Status.IGNORED, "no handler for this event type"
    if event.tenant is not None and not event.tenant.is_active:
        # kept as failed (not retried on its own): an operator retries it after reactivation
        return WebhookEvent.Status.FAILED, f"{PERMANENT_TENANT_SUSPENDED}: {event.tenant.slug}"
    ignored: list[str] = []
    malformed = ""
    with transaction.atomic():
        context = tenant_context(event.tenant) if event.tenant is not None else schema_context(get_public_schema_name())
        with context:
            for handler in handlers:
                try:
                    with transaction.atomic():
                        handler(event)
                except IgnoreEvent as exc:
                    ignored.append(exc.reason or handler.__name__)
                except MalformedEvent as exc:
                    malformed = exc.reason or handler.__name__
    if malformed:
        return WebhookEvent.Status.MALFORMED, malformed[:2000]
    if len(ignored) == len(handlers):
        return WebhookEvent.Status.IGNORED, "; ".join(ignored)[:2000]
    return WebhookEvent.Status.PROCESSED, ""


def _record_outcome(event_id: int, outcome: str, error: str, elapsed_ms: int, now: datetime) -> str:
    from integrations.errors import MalformedPayload

    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        event.processing_ms = elapsed_ms
        event.last_error = error
        if outcome == WebhookEvent.Status.FAILED:
            permanent = error.startswith((MalformedPayload.__name__, PERMANENT_TENANT_SUSPENDED))
            if event.attempts < settings.WEBHOOK_MAX_ATTEMPTS and not permanent:
                event.status = WebhookEvent.Status.RECEIVED  # waiting for its retry
                event.next_attempt_at = now + retry_delay(event.attempts)
            else:
                event.status = WebhookEvent.Status.FAILED
                event.next_attempt_at = None
                event.processed_at = now
                logger.error("webhook %s (%s %s) failed after %s attempts: %s", event.pk,
                             event.provider, event.event_type, event.attempts, error)
        else:
            event.status = outcome
            event.next_attempt_at = None
            event.processed_at = now
        event.save(update_fields=["status", "next_attempt_at", "processed_at", "processing_ms", "last_error"])
        if event.status == WebhookEvent.Status.RECEIVED:
            from integrations.services import enqueue_event

            countdown = max((event.next_attempt_at - timezone.now()).total_seconds(), 0) if event.next_attempt_at else 0
            transaction.on_commit(lambda: enqueue_event(event, countdown=countdown))
    return str(event.status)
