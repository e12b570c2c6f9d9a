"""Inbox operations: store a verified delivery, dispatch it to a worker, re-queue stuck events, retry failed ones.

A request only stores its event (one INSERT) and raises a Redis flag; the request that raised it
publishes one ``integrations.dispatch_webhooks`` task, which claims every stored, never-queued
event and publishes ``process_webhooks`` batches of them on their priority queues; a worker
claims a batch in one statement and processes it in one transaction with a savepoint per event
(``integrations.inbox.process_events``). A burst of deliveries thus costs a handful of Celery
publishes and round trips instead of one per event. Retries and the sweeper queue single events
(``process_webhook``).
"""

from __future__ import annotations

import functools
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, UniqueConstraint
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from askpro.tenancy import in_public_schema
from integrations.errors import MalformedPayload
from integrations.models import WebhookEvent
from integrations.providers import QUEUE_HIGH, body_hash, provider_spec

if TYPE_CHECKING:
    import redis

    from tenants.models import Tenant

logger = logging.getLogger(__name__)

_ENQUEUE_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
DISPATCH_FLAG = "webhook-dispatch-pending"
# Longer than a queued dispatcher normally waits for a worker; if one is lost, the flag expires
# and the next event queues a new one (the sweeper covers the events in between).
DISPATCH_FLAG_SECONDS = 60
DISPATCH_BATCH_SIZE = 200
# Events per process_webhooks task: one Celery round trip and one claim for up to this many.
PROCESS_BATCH_SIZE = 50
# A burst is split into about this many tasks (2 would halve the per-task cost with 2 worker
# processes; tests/integrations/test_inbox_dispatch.py pins the split of 4).
PROCESS_BATCH_SPREAD = 4


@dataclass(frozen=True)
class Receipt:
    event_id: int
    created: bool


def receive_webhook(
    provider: str, raw_body: bytes, payload: dict[str, Any], *, headers: dict[str, str],
    source_ip: str | None, tenant: Tenant | None = None, correlation_id: str = "",
) -> Receipt:
    """Store a verified delivery once per event key and request its dispatch after commit.

    A repeated key only counts a prevented duplicate; it is never processed twice. The write is
    one ``INSERT ... ON CONFLICT DO NOTHING`` (no savepoint needed inside a transaction).
    """
    spec = provider_spec(provider)
    event_type = spec.event_type(payload)
    key = spec.event_key(payload, raw_body)[:255]
    if provider == "calcom" and tenant is not None:
        key = f"{tenant.slug}:{key}"[:255]
    # The tenant is resolved by the worker when it is not known from the URL: the answer to the
    # provider must not wait for registry look-ups.
    with public_schema():
        event_id = insert_unless_known(
            provider=provider, event_key=key, event_type=event_type[:100], tenant=tenant,
            raw_body=raw_body, payload=payload, headers=_kept_headers(spec.headers_kept, headers),
            source_ip=source_ip, queue=spec.queue_for(event_type), correlation_id=correlation_id[:64],
        )
        if event_id is None:
            event_id = _count_duplicate(provider, key)
            logger.info("duplicate %s webhook %s (%s) acknowledged", provider, event_id, key)
            return Receipt(event_id, created=False)
    transaction.on_commit(request_dispatch)  # immediately in autocommit, else after commit
    return Receipt(event_id, created=True)


@dataclass(frozen=True)
class _InsertPlan:
    sql: str
    fields: list[Any]  # every concrete field but the id: what WebhookEvent.objects.create() inserts
    names: frozenset[str]
    constants: dict[str, Any]  # prepared values of fields with a constant default


@functools.cache
def _insert_plan() -> _InsertPlan:
    meta = WebhookEvent._meta

    def quote(name: str | None) -> str:
        return str(connection.ops.quote_name(str(name)))

    fields = [field for field in meta.concrete_fields if not field.primary_key]
    for field in fields:  # pre_save() would need an instance; the model has no such field today
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            raise NotImplementedError(f"insert_unless_known cannot fill {field.name} (auto_now)")
    unique = next(c for c in meta.constraints if isinstance(c, UniqueConstraint) and c.name == "webhook_provider_event_key_uniq")
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (names from the model)
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({', '.join(quote(getattr(meta.get_field(name), 'column', None)) for name in unique.fields)}) DO NOTHING "
        f"RETURNING {quote(meta.pk.column if meta.pk else 'id')}"
    )
    constants = {
        field.name: field.get_db_prep_save(field.get_default(), connection)
        for field in fields if not (field.has_default() and callable(field.default))
    }
    return _InsertPlan(sql, fields, frozenset(field.name for field in fields), constants)


def insert_unless_known(**values: Any) -> int | None:
    """INSERT a WebhookEvent with these field values unless its provider event key is stored.

    Returns the new id, or None for a known key. Values (and the defaults of the fields not
    given) are prepared by the model's fields, as ``objects.create()`` prepares them.
    """
    plan = _insert_plan()
    if unknown := values.keys() - plan.names:
        raise TypeError(f"WebhookEvent has no fields {sorted(unknown)}")
    params = []
    for field in plan.fields:
        if field.name in values:
            value = values[field.name]
            if field.is_relation and value is not None:
                value = getattr(value, field.target_field.attname)
            params.append(field.get_db_prep_save(value, connection))
        elif field.name in plan.constants:
            params.append(plan.constants[field.name])
        else:
            params.append(field.get_db_prep_save(field.get_default(), connection))
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _count_duplicate(provider: str, key: str) -> int:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET duplicates = duplicates + 1 WHERE provider = %s AND event_key = %s RETURNING id",  # noqa: S608
            [provider, key],
        )
        row = cursor.fetchone()
    if row is None:  # the stored event was deleted in between: nothing to acknowledge against
        raise WebhookEvent.DoesNotExist(f"{provider} webhook {key} vanished")
    return int(row[0])


# --- dispatch -----------------------------------------------------------------------------------


@functools.cache
def _flag_store() -> redis.Redis:
    import redis

    location = str(settings.CACHES["default"]["LOCATION"]).split(",")[0]
    return redis.Redis.from_url(location, socket_connect_timeout=2, socket_timeout=2)


def _dispatch_flag_key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{DISPATCH_FLAG}"


def request_dispatch() -> None:
    """Make sure a dispatcher will run for the events committed so far (call after commit).

    Only the request that raises the flag publishes a task, due ``WEBHOOK_DISPATCH_DELAY_MS``
    later; later ones are claimed by that dispatcher, so a burst goes out in a few large batches. If Redis or the broker is down the event stays stored and the sweeper queues it.
    """
    try:
        raised = _flag_store().set(_dispatch_flag_key(), 1, nx=True, ex=DISPATCH_FLAG_SECONDS)
    except Exception as exc:
        logger.warning("could not flag the webhook dispatch; the sweeper will queue the event: %s", exc)
        return
    if not raised:
        return
    from integrations.tasks import dispatch_webhooks

    try:
        with public_schema():  # the task starts in public
            dispatch_webhooks.apply_async(queue=QUEUE_HIGH, countdown=settings.WEBHOOK_DISPATCH_DELAY_MS / 1000 or None,
                                          retry=True, retry_policy=_ENQUEUE_RETRY_POLICY)
    except Exception as exc:
        logger.warning("could not queue the webhook dispatcher; the sweeper will queue the event: %s", exc)
        _clear_dispatch_flag()  # so that the next event tries again


def _clear_dispatch_flag() -> None:
    try:
        _flag_store().delete(_dispatch_flag_key())
    except Exception as exc:
        logger.warning("could not clear the webhook dispatch flag (it expires on its own): %s", exc)


def dispatch_pending_events(*, batch_size: int = DISPATCH_BATCH_SIZE) -> int:
    """Queue every stored event that was never queued, in batches; returns how many were queued.

    The flag is cleared before the first claim, so an event committed later is either claimed
    here or raises the flag again and queues the next dispatcher. Safe to run concurrently.
    """
    _clear_dispatch_flag()
    queued = 0
    with public_schema():
        while True:
            claimed = _claim_undispatched(batch_size)
            published = _publish(claimed)
            queued += len(published)
            if len(published) < len(claimed):  # the broker failed: the rest waits for the next run
                _unclaim(sorted({event_id for event_id, _queue in claimed} - published))
                break
            if len(claimed) < batch_size:
                break
    return queued


def _claim_undispatched(limit: int) -> list[tuple[int, str]]:
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET queued_at = %s WHERE id IN ("  # noqa: S608
            f" SELECT id FROM {table} WHERE status = %s AND queued_at IS NULL"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
            ") RETURNING id, queue",
            [timezone.now(), WebhookEvent.Status.RECEIVED.value, limit],
        )
        return sorted((int(event_id), str(queue)) for event_id, queue in cursor.fetchall())


def _unclaim(event_ids: list[int]) -> None:
    WebhookEvent.objects.filter(pk__in=event_ids, status=WebhookEvent.Status.RECEIVED).update(queued_at=None)


def process_batches(claimed: list[tuple[int, str]]) -> list[tuple[str, list[int]]]:
    """Split claimed events into ``process_webhooks`` batches per queue, in id order: at most
    ``PROCESS_BATCH_SIZE`` events each, and a small burst still in about ``PROCESS_BATCH_SPREAD``
    tasks, so that every worker process gets a share."""
    by_queue: dict[str, list[int]] = {}
    for event_id, queue in claimed:
        by_queue.setdefault(queue, []).append(event_id)
    parts = []
    for queue, ids in by_queue.items():
        size = max(1, min(PROCESS_BATCH_SIZE, -(-len(ids) // PROCESS_BATCH_SPREAD)))
        parts += [(queue, ids[start:start + size]) for start in range(0, len(ids), size)]
    return parts


def _publish(claimed: list[tuple[int, str]]) -> set[int]:
    """Publish ``process_webhooks`` batches of the claimed events over one producer; returns the
    events that went out (a batch is published whole or not at all)."""
    from askpro.celery import app
    from integrations.tasks import process_webhooks

    published: set[int] = set()
    try:
        with app.producer_or_acquire() as producer:
            for queue, ids in process_batches(claimed):
                process_webhooks.apply_async(
                    args=[ids], queue=queue, producer=producer,
                    retry=True, retry_policy=_ENQUEUE_RETRY_POLICY,
                )
                published.update(ids)
    except Exception as exc:
        logger.warning("could not queue %s of %s webhook events; they will be queued again: %s",
                       len(claimed) - len(published), len(claimed), exc)
    return published


def public_schema() -> Any:
    """Switch to the public schema only when needed (each switch costs a SET search_path)."""
    if in_public_schema():
        return nullcontext()
    return schema_context(get_public_schema_name())


def keep_malformed_webhook(
    provider: str, raw_body: bytes, error: MalformedPayload, *, headers: dict[str, str],
    source_ip: str | None, tenant: Tenant | None = None, correlation_id: str = "",
) -> WebhookEvent:
    """Keep a correctly signed but unparsable body for inspection (status failed, never processed)."""
    spec = provider_spec(provider)
    key = f"malformed:{body_hash(raw_body)}"
    with schema_context(get_public_schema_name()):
        event, _created = WebhookEvent.objects.get_or_create(
            provider=provider, event_key=key,
            defaults={
                "tenant": tenant, "raw_body": raw_body, "payload": None, "source_ip": source_ip,
                "headers": _kept_headers(spec.headers_kept, headers), "status": WebhookEvent.Status.FAILED,
                "last_error": f"{MalformedPayload.__name__}: {error.details.get('reason', '')}"[:2000],
                "correlation_id": correlation_id[:64], "processed_at": timezone.now(),
            },
        )
    return event


def _kept_headers(names: tuple[str, ...], headers: dict[str, str]) -> dict[str, str]:
    lowered = {name.lower(): value for name, value in headers.items()}
    return {name: lowered[name][:500] for name in names if name in lowered}


def enqueue_event(event: WebhookEvent, *, countdown: float = 0) -> bool:
    """Hand the event to a worker on its priority queue; False if the broker is unreachable.

    The event is already stored, so a failure here loses nothing: the sweeper re-queues it.
    """
    from integrations.tasks import process_webhook

    try:
        with public_schema():  # the task starts in public, the processor switches
            process_webhook.apply_async(
                args=[event.pk], queue=event.queue, countdown=countdown or None,
                retry=True, retry_policy=_ENQUEUE_RETRY_POLICY,
            )
    except Exception as exc:
        logger.warning("could not queue webhook %s (%s); the sweeper will pick it up: %s",
                       event.pk, event.provider, exc)
        return False
    return True


def stuck_events(now: datetime | None = None) -> Any:
    """Events a worker should have finished by now: never queued, queued but lost, retry overdue, or worker lost."""
    now = now or timezone.now()
    stuck = timedelta(seconds=settings.WEBHOOK_STUCK_AFTER_SECONDS)
    lost = timedelta(seconds=max(settings.WEBHOOK_STUCK_AFTER_SECONDS, settings.CELERY_TASK_TIME_LIMIT + 60))
    waiting = Q(status=WebhookEvent.Status.RECEIVED, next_attempt_at__isnull=True)
    return WebhookEvent.objects.filter(
        (waiting & Q(queued_at__isnull=True, received_at__lte=now - stuck))
        | (waiting & Q(queued_at__lte=now - stuck))
        | Q(status=WebhookEvent.Status.RECEIVED, next_attempt_at__lte=now - stuck)
        | Q(status=WebhookEvent.Status.PROCESSING, processing_started_at__lte=now - lost)
        | Q(pk__in=_orphaned_processing(now - stuck))
    ).order_by("received_at")


def _orphaned_processing(started_before: datetime) -> list[int]:
    """Events marked processing whose worker is gone: nobody holds their processing lock (a
    transaction-level advisory lock, released when the worker's transaction ends, which includes
    its connection dying, e.g. a SIGKILLed worker).

    Found without waiting for the task time limit, so a killed worker delays an event by the
    stuck interval only."""
    from integrations.inbox import _LOCK_NAMESPACE

    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.id FROM {table} e WHERE e.status = %s AND e.processing_started_at <= %s"  # noqa: S608
            " AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 1"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid::bigint = %s AND l.objid::bigint = e.id)",
            [WebhookEvent.Status.PROCESSING.value, started_before, _LOCK_NAMESPACE >> 32],
        )
        return [int(row[0]) for row in cursor.fetchall()]


def sweep_stuck_events(*, now: datetime | None = None, limit: int = 500) -> int:
    """Re-queue stuck events (Redis was down at receipt, a worker died); returns how many were queued.

    A re-queued event gets a new ``queued_at``, so a backlog is not queued again every minute.
    """
    with schema_context(get_public_schema_name()):
        events = list(stuck_events(now)[:limit])
        queued = [event.pk for event in events if enqueue_event(event)]
        WebhookEvent.objects.filter(pk__in=queued).update(queued_at=timezone.now())
    if events:
        logger.warning("webhook sweeper re-queued %s of %s stuck events", len(queued), len(events))
    return len(queued)


def retry_failed_events(
    *, provider: str | None = None, event_id: int | None = None, dry_run: bool = False,
) -> list[WebhookEvent]:
    """Put failed events back to ``received`` and queue them (one more attempt each)."""
    with schema_context(get_public_schema_name()), transaction.atomic():
        events = WebhookEvent.objects.select_for_update().filter(status=WebhookEvent.Status.FAILED)
        if provider:
            events = events.filter(provider=provider)
        if event_id is not None:
            events = events.filter(pk=event_id)
        chosen = list(events.order_by("received_at"))
        if dry_run:
            return chosen
        for event in chosen:
            event.status = WebhookEvent.Status.RECEIVED
            event.next_attempt_at = None
            event.processed_at = None
            event.queued_at = timezone.now()
            event.save(update_fields=["status", "next_attempt_at", "processed_at", "queued_at"])
            transaction.on_commit(lambda event=event: enqueue_event(event))  # type: ignore[misc]
    return chosen
