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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

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
    return _process_claimed(claimed, now)[event_id]


def process_events(event_ids: list[int], *, now: datetime | None = None) -> dict[str, int]:
    """Process a batch of stored events in this task: one claim for all, then one transaction for
    the batch with a savepoint per event (a failing handler fails only its event). Returns the
    outcomes counted."""
    use_public_schema()
    unique = sorted(set(event_ids))
    claimed = _claim(unique, now or timezone.now())
    counted: dict[str, int] = defaultdict(int)
    counted["skipped"] = len(unique) - len(claimed)
    if claimed:
        try:
            outcomes = _process_claimed(claimed, now)
        except Exception:
            # the database went away mid-batch: the events stay processing for the sweeper
            logger.exception("webhooks %s could not be processed", sorted(claimed))
            outcomes = dict.fromkeys(claimed, "error")
        for outcome in outcomes.values():
            counted[outcome] += 1
    return dict(counted)


@dataclass
class _Outcome:
    status: str
    error: str = ""
    elapsed_ms: int = 0
    at: datetime | None = None


def _process_claimed(claimed: dict[int, int], now: datetime | None) -> dict[int, str]:
    """Process claimed events (``{event_id: attempts}``) in one transaction; returns their statuses.

    Per batch: one statement takes the transaction-level advisory locks (nothing stays on a pooled
    server connection, so workers run behind PgBouncer in transaction mode; the sweeper reads the
    locks to tell a working event from an orphaned one), one locks and loads the rows, one writes
    every outcome before the commit. Per event only its savepoint and its handlers' statements run;
    consecutive events of one tenant share the schema switch.
    """
    results: dict[int, str] = {}
    outcomes: dict[int, _Outcome] = {}
    with transaction.atomic():
        locked = _lock_events(sorted(claimed))
        events = {
            event.pk: event for event in
            WebhookEvent.objects.select_for_update(of=("self",)).select_related("tenant").filter(pk__in=locked).order_by("pk")
        }
        runnable: list[WebhookEvent] = []
        for event_id in sorted(claimed):
            event = events.get(event_id)
            if event_id not in locked:
                results[event_id] = "busy"
            elif event is None:
                results[event_id] = "missing"
            elif event.status != WebhookEvent.Status.PROCESSING or event.attempts != claimed[event_id]:
                results[event_id] = "busy"  # another worker claimed it again after this claim (a re-queued event)
            else:
                runnable.append(event)
        try:
            plans = [(event, _prepare(event, now)) for event in runnable]
            by_schema: dict[str, list[tuple[WebhookEvent, list[Handler]]]] = defaultdict(list)
            for event, plan in plans:
                if isinstance(plan, _Outcome):
                    outcomes[event.pk] = plan
                else:
                    by_schema[_schema_of(event)].append((event, plan))
            for group in by_schema.values():  # events of one tenant together, in id order
                for event, handlers in group:
                    outcomes[event.pk] = _run_event(event, handlers, now)
        finally:
            use_public_schema()
        retries = _record_outcomes(runnable, outcomes)
        for event, countdown in retries:
            from integrations.services import enqueue_event

            transaction.on_commit(lambda event=event, countdown=countdown: enqueue_event(event, countdown=countdown))  # type: ignore[misc]
    results.update({event.pk: str(event.status) for event in runnable})
    return results


def _lock_events(event_ids: list[int]) -> set[int]:
    """Take the processing locks of these events (transaction-level, one statement); returns the ids locked."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.id FROM unnest(%s::bigint[]) AS e(id) WHERE pg_try_advisory_xact_lock(%s::bigint | e.id)",
            [event_ids, _LOCK_NAMESPACE],
        )
        return {int(row[0]) for row in cursor.fetchall()}


def _schema_of(event: WebhookEvent) -> str:
    return event.tenant.schema_name if event.tenant is not None else get_public_schema_name()


def _prepare(event: WebhookEvent, now: datetime | None) -> list[Handler] | _Outcome:
    """What an event needs before its handlers run (in the public schema): its body parsed, its
    tenant resolved, handlers registered and the tenant active. Returns the handlers to run, or
    the event's final outcome when none run."""
    from integrations.errors import MalformedPayload
    from integrations.signatures import parse_json_object

    started = time.perf_counter()
    start = now or timezone.now()

    def done(status: str, error: str) -> _Outcome:
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        return _Outcome(status, error[:2000], elapsed_ms, start + timedelta(milliseconds=elapsed_ms))

    if event.payload is None:
        try:
            parse_json_object(bytes(event.raw_body))
        except MalformedPayload as exc:  # a permanent failure
            return done(WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}")
    if event.tenant_id is None:
        from integrations.providers import provider_spec

        try:
            with transaction.atomic():  # a resolver's database error must not abort the batch
                tenant = provider_spec(event.provider).resolve_tenant(event.payload or {})
        except Exception as exc:
            logger.warning("webhook %s: tenant resolution failed: %s", event.pk, exc, exc_info=True)
            return done(WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}")
        if tenant is not None:
            event.tenant = tenant  # stored with the outcome, in the same transaction
    handlers = handlers_for(event.provider, event.event_type)
    if not handlers:
        return done(WebhookEvent.Status.IGNORED, "no handler for this event type")
    if event.tenant is not None and not event.tenant.is_active:
        # kept as failed (not retried on its own): an operator retries it after reactivation
        return done(WebhookEvent.Status.FAILED, f"{PERMANENT_TENANT_SUSPENDED}: {event.tenant.slug}")
    return handlers


def _run_event(event: WebhookEvent, handlers: list[Handler], now: datetime | None) -> _Outcome:
    """Run one event's handlers in its tenant's schema (switched only if the connection is not
    there already), in a savepoint: a raising handler rolls back this event's writes only."""
    token = correlation_id.set(event.correlation_id or f"webhook-{event.pk}")
    started = time.perf_counter()
    start = now or timezone.now()
    try:
        if event.tenant is not None:
            if connection.schema_name != event.tenant.schema_name:  # type: ignore[attr-defined]
                connection.set_tenant(event.tenant)  # type: ignore[attr-defined]
        elif connection.schema_name != get_public_schema_name():  # type: ignore[attr-defined]
            use_public_schema()
        try:
            status, error = _run_handlers(event, handlers)
        except Exception as exc:
            logger.warning("webhook %s (%s %s) failed on attempt %s: %s", event.pk, event.provider,
                           event.event_type, event.attempts, exc, exc_info=True)
            status, error = WebhookEvent.Status.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        correlation_id.reset(token)
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    return _Outcome(status, error[:2000], elapsed_ms, start + timedelta(milliseconds=elapsed_ms))


def _run_handlers(event: WebhookEvent, handlers: list[Handler]) -> tuple[str, str]:
    """The handlers in order inside one savepoint (each in one of its own when there are several)."""
    ignored: list[str] = []
    malformed = ""

    def call(handler: Handler) -> None:
        try:
            handler(event)
        except IgnoreEvent as kept:
            if not kept.keep_changes:
                raise
            ignored.append(kept.reason or handler.__name__)

    try:
        with transaction.atomic():
            if len(handlers) == 1:
                call(handlers[0])  # IgnoreEvent and MalformedEvent roll back the savepoint below
            else:
                for handler in handlers:
                    try:
                        with transaction.atomic():
                            call(handler)
                    except IgnoreEvent as exc:
                        ignored.append(exc.reason or handler.__name__)
                    except MalformedEvent as exc:
                        malformed = exc.reason or handler.__name__
    except IgnoreEvent as exc:
        ignored.append(exc.reason or handlers[0].__name__)
    except MalformedEvent as exc:
        malformed = exc.reason or handlers[0].__name__
    if malformed:
        return WebhookEvent.Status.MALFORMED, malformed
    if len(ignored) == len(handlers):
        return WebhookEvent.Status.IGNORED, "; ".join(ignored)
    return WebhookEvent.Status.PROCESSED, ""


_OUTCOME_FIELDS = ("tenant", "status", "next_attempt_at", "processed_at", "processing_ms", "last_error")


def _record_outcomes(events: list[WebhookEvent], outcomes: dict[int, _Outcome]) -> list[tuple[WebhookEvent, float]]:
    """Write the outcomes of the locked events in one ``UPDATE ... FROM (VALUES ...)`` (inside the
    batch's transaction, in the public schema); returns the events to queue again for a retry
    with their countdowns."""
    from integrations.errors import MalformedPayload

    retries: list[tuple[WebhookEvent, float]] = []
    for event in events:
        outcome = outcomes[event.pk]
        at = outcome.at or timezone.now()
        event.processing_ms = outcome.elapsed_ms
        event.last_error = outcome.error
        if outcome.status == WebhookEvent.Status.FAILED:
            permanent = outcome.error.startswith((MalformedPayload.__name__, PERMANENT_TENANT_SUSPENDED))
            if event.attempts < settings.WEBHOOK_MAX_ATTEMPTS and not permanent:
                event.status = WebhookEvent.Status.RECEIVED  # waiting for its retry
                event.next_attempt_at = at + retry_delay(event.attempts)
                retries.append((event, max((event.next_attempt_at - timezone.now()).total_seconds(), 0)))
            else:
                event.status = WebhookEvent.Status.FAILED
                event.next_attempt_at = None
                event.processed_at = at
                logger.error("webhook %s (%s %s) failed after %s attempts: %s", event.pk,
                             event.provider, event.event_type, event.attempts, outcome.error)
        else:
            event.status = outcome.status
            event.next_attempt_at = None
            event.processed_at = at
    if not events:
        return retries
    meta = WebhookEvent._meta
    by_name = {field.name: field for field in meta.concrete_fields}
    fields = [by_name[name] for name in _OUTCOME_FIELDS]
    quote = connection.ops.quote_name
    row = "(%s::bigint, " + ", ".join(f"%s::{field.db_type(connection)}" for field in fields) + ")"
    params: list[Any] = []
    for event in events:
        params.append(event.pk)
        params += [field.get_db_prep_save(getattr(event, field.attname), connection) for field in fields]
    columns = [str(field.column) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(str(meta.db_table))} e SET {', '.join(f'{quote(c)} = v.{quote(c)}' for c in columns)}"  # noqa: S608
            f" FROM (VALUES {', '.join([row] * len(events))}) AS v(id, {', '.join(quote(c) for c in columns)})"
            " WHERE e.id = v.id",
            params,
        )
    return retries
