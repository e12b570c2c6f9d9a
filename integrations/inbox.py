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
from collections.abc import Callable
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
# namespace of the transaction-level pg advisory locks held while an event is processed ("WH" << 48);
# the sweeper reads pg_locks for them to tell a working event from one whose worker died
_LOCK_NAMESPACE = 0x5748 << 48
PERMANENT_TENANT_SUSPENDED = "TenantSuspended"


class IgnoreEvent(Exception):
    """Raised by a handler: this event needs nothing (marks it ``ignored`` with the reason).

    The handler's writes are rolled back, unless ``keep_changes`` (a note such as "this booking
    was cancelled before we knew it", kept while the event itself changes nothing)."""

    def __init__(self, reason: str = "", *, keep_changes: bool = False) -> None:
        self.reason = reason
        self.keep_changes = keep_changes
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


def _lock_key(event_id: int) -> int:
    return _LOCK_NAMESPACE | event_id


def _claim(event_ids: list[int], now: datetime, *, force: bool = False) -> dict[int, int]:
    """Mark the due ones of these events ``processing`` (one more attempt each) in one statement;
    returns ``{event_id: attempts}`` of those claimed.

    ``FOR UPDATE SKIP LOCKED`` passes over an event another worker is processing right now (its
    row is locked by that worker's processing transaction). The claim commits at once, so an
    attempt counts even if the worker dies while processing (a poison event ends ``failed``).
    """
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    statuses = [WebhookEvent.Status.RECEIVED.value, WebhookEvent.Status.PROCESSING.value]
    if force:
        statuses.append(WebhookEvent.Status.FAILED.value)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} e SET status = %s, attempts = e.attempts + 1, processing_started_at = %s"  # noqa: S608
            f" WHERE e.id IN (SELECT id FROM {table} WHERE id = ANY(%s) AND status = ANY(%s)"
            " AND (%s OR next_attempt_at IS NULL OR next_attempt_at <= %s) ORDER BY id FOR UPDATE SKIP LOCKED)"
            " RETURNING e.id, e.attempts",
            [WebhookEvent.Status.PROCESSING.value, now, list(event_ids), statuses, force, now],
        )
        return {int(event_id): int(attempts) for event_id, attempts in cursor.fetchall()}


def process_event(event_id: int, *, now: datetime | None = None, force: bool = False) -> str:
    """Run the handlers of one stored event once; returns the resulting status (or why it did not run).

    Safe to call any number of times and concurrently: a final event is left alone, a locked one
    is skipped, and one that is not yet due for its retry waits unless ``force``.
    """
    use_public_schema()
    now = now or timezone.now()
    claimed = _claim([event_id], now, force=force)
    if event_id not in claimed:
        event = WebhookEvent.objects.filter(pk=event_id).only("status", "next_attempt_at").first()
        if event is None:
            return "missing"
        if event.status in WebhookEvent.FINAL_STATUSES or event.status == WebhookEvent.Status.FAILED:
            return str(event.status)
        if event.next_attempt_at and event.next_attempt_at > now and not force:
            return "not_due"
        return "busy"
    return _process_claimed(event_id, claimed[event_id], now)


def process_events(event_ids: list[int], *, now: datetime | None = None) -> dict[str, int]:
    """Process a batch of stored events in this task: one claim for all, then each event in its
    own transaction (a failing handler fails only its event). Returns the outcomes counted."""
    use_public_schema()
    claimed = _claim(sorted(set(event_ids)), now or timezone.now())
    counted: dict[str, int] = defaultdict(int)
    counted["skipped"] = len(set(event_ids)) - len(claimed)
    for event_id, attempts in sorted(claimed.items()):
        try:
            outcome = _process_claimed(event_id, attempts, now or timezone.now())
        except Exception:
            # the database went away mid-event: the event stays processing for the sweeper
            logger.exception("webhook %s could not be processed", event_id)
            outcome = "error"
        counted[outcome] += 1
    return dict(counted)


def _process_claimed(event_id: int, attempts: int, now: datetime) -> str:
    """Process one claimed event in one transaction: a transaction-level advisory lock (nothing
    stays on a pooled server connection, so workers can run behind PgBouncer in transaction
    mode), the row locked, the handlers in a savepoint, the outcome written before the commit."""
    token = correlation_id.set(f"webhook-{event_id}")
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_lock_key(event_id)])
                if not cursor.fetchone()[0]:
                    return "busy"
            event = WebhookEvent.objects.select_for_update(of=("self",)).select_related("tenant").filter(pk=event_id).first()
            if event is None:
                return "missing"
            if event.status != WebhookEvent.Status.PROCESSING or event.attempts != attempts:
                return "busy"  # another worker claimed it again after this claim (a re-queued event)
            if event.correlation_id:
                correlation_id.set(event.correlation_id)
            return _run_handlers(event, now)
    finally:
        correlation_id.reset(token)


def _run_handlers(event: WebhookEvent, now: datetime) -> str:
    started = time.perf_counter()
    outcome: str = WebhookEvent.Status.PROCESSED
    error = ""
    try:
        outcome, error = _dispatch(event)  # the handlers' writes run in a savepoint of their own
    except Exception as exc:
        logger.warning("webhook %s (%s %s) failed on attempt %s: %s", event.pk, event.provider,
                       event.event_type, event.attempts, exc, exc_info=True)
        outcome, error = WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        use_public_schema()
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    return _record_outcome(event, outcome, error, elapsed_ms, now + timedelta(milliseconds=elapsed_ms))


def _dispatch(event: WebhookEvent) -> tuple[str, str]:
    from integrations.signatures import parse_json_object

    if event.payload is None:
        parse_json_object(bytes(event.raw_body))  # raises MalformedPayload: a permanent failure
    if event.tenant_id is None:
        from integrations.providers import provider_spec

        tenant = provider_spec(event.provider).resolve_tenant(event.payload or {})
        if tenant is not None:
            event.tenant = tenant  # stored with the outcome, in the same transaction
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
                        try:
                            handler(event)
                        except IgnoreEvent as kept:
                            if not kept.keep_changes:
                                raise
                            ignored.append(kept.reason or handler.__name__)
                except IgnoreEvent as exc:
                    ignored.append(exc.reason or handler.__name__)
                except MalformedEvent as exc:
                    malformed = exc.reason or handler.__name__
    if malformed:
        return WebhookEvent.Status.MALFORMED, malformed[:2000]
    if len(ignored) == len(handlers):
        return WebhookEvent.Status.IGNORED, "; ".join(ignored)[:2000]
    return WebhookEvent.Status.PROCESSED, ""


def _record_outcome(event: WebhookEvent, outcome: str, error: str, elapsed_ms: int, now: datetime) -> str:
    """Write the outcome of the locked event (inside its processing transaction)."""
    from integrations.errors import MalformedPayload

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
    WebhookEvent.objects.filter(pk=event.pk).update(
        tenant=event.tenant_id, status=event.status, next_attempt_at=event.next_attempt_at, processed_at=event.processed_at,
        processing_ms=event.processing_ms, last_error=event.last_error,
    )
    if event.status == WebhookEvent.Status.RECEIVED:
        from integrations.services import enqueue_event

        countdown = max((event.next_attempt_at - timezone.now()).total_seconds(), 0) if event.next_attempt_at else 0
        transaction.on_commit(lambda: enqueue_event(event, countdown=countdown))
    return str(event.status)
