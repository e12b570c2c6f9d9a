"""The transactional outbox: effects a committed change owes another domain or a worker.

An effect that must not be lost (charge a finished call, notify a customer, push to Cal.com,
react to a payment) is written as a row of ``integrations.OutboxEffect`` in the SAME transaction
as the change that owes it, so it exists exactly when the change committed. Delivery works like
the webhook inbox (``integrations.services``):

- **Store.** :func:`enqueue` inserts the row (``ON CONFLICT (key) DO NOTHING``: one row per key)
  in whichever schema is active; the table lives in ``public``, which is on every tenant's
  search path, and ``schema_name`` records where the handler must run.
- **Flag.** After commit, ``SET <prefix>:outbox-dispatch-pending 1 NX EX 60`` in the cache Redis;
  only the transaction that raised it publishes ``outbox.dispatch`` (a burst costs one publish).
- **Dispatcher.** Clears the flag, claims never-queued rows with ``FOR UPDATE SKIP LOCKED`` in
  batches and publishes ``outbox.process`` for each on its queue.
- **Processor.** Locks the row (``FOR UPDATE SKIP LOCKED``: a row being processed is skipped by
  everyone else), runs the handler in the row's schema and marks the row done in the same
  transaction; a handler that raises is retried with exponential backoff
  (``OUTBOX_RETRY_BASE_SECONDS`` * 2^n) up to ``OUTBOX_MAX_ATTEMPTS``, then ``failed``.
- **Sweeper.** ``outbox.sweep`` (beat, ``OUTBOX_SWEEP_SECONDS``) re-queues pending rows whose
  publish or message was lost (Redis down, a killed worker) after ``OUTBOX_STUCK_AFTER_SECONDS``.

Redis down, a worker SIGKILLed or a publish lost thus delay an effect, never drop it. Handlers
must be idempotent by the row's key: a worker killed after the handler's external call (an
e-mail, a Cal.com request) but before the commit runs it again.

Handlers register by name (``@effect_handler("billing.charge_call")``) in modules imported
at start-up; ``askpro.hooks`` stores one row per (event, listener), so every listener of a
declared domain event is delivered this way.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from askpro.tenancy import current_schema

if TYPE_CHECKING:
    import redis
    from django.db.models import QuerySet

    from integrations.models import OutboxEffect

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]

DISPATCH_FLAG = "outbox-dispatch-pending"
DISPATCH_FLAG_SECONDS = 60
DISPATCH_BATCH_SIZE = 200
SWEEP_LIMIT = 500
_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}


@dataclass(frozen=True)
class EffectSpec:
    name: str
    func: Handler
    queue: str
    deadline: timedelta


_handlers: dict[str, EffectSpec] = {}


def effect_handler(
    name: str, *, queue: str = "default", deadline: timedelta | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``func(payload)`` as the handler of effects called ``name`` (idempotent by key)."""

    def register(func: Handler) -> Handler:
        _handlers[name] = EffectSpec(
            name=name, func=func, queue=queue,
            deadline=deadline or timedelta(seconds=settings.OUTBOX_DEADLINE_SECONDS),
        )
        return func

    return register


def unregister_handler(name: str) -> None:
    _handlers.pop(name, None)


def handler_spec(name: str) -> EffectSpec | None:
    _discover()
    return _handlers.get(name)


def registered_effects() -> list[str]:
    """The names of every registered effect kind (the bounded label set of the outbox metrics)."""
    _discover()
    return sorted(_handlers)


def _discover() -> None:
    from askpro import hooks

    hooks.autodiscover()  # listeners.py modules register their effects on import


@dataclass(frozen=True)
class Effect:
    """One effect to store: what runs (``handler``), its idempotency ``key`` and JSON ``payload``."""

    handler: str
    key: str
    payload: dict[str, Any]
    queue: str | None = None
    deadline: timedelta | None = None


def enqueue(handler: str, *, key: str, payload: dict[str, Any] | None = None, queue: str | None = None,
            deadline: timedelta | None = None) -> None:
    """Store one effect in the current transaction (in the active schema); see :func:`enqueue_many`."""
    enqueue_many([Effect(handler=handler, key=key, payload=payload or {}, queue=queue, deadline=deadline)])


def enqueue_many(effects: list[Effect]) -> None:
    """Store effects in the current transaction; after commit, request their dispatch.

    A key already stored is ignored (the effect is owed once). Refuses unknown handlers, so a
    typo fails in the producer's test instead of leaving a row nobody can deliver.
    """
    if not effects:
        return
    from integrations.models import OutboxEffect

    now = timezone.now()
    schema = current_schema()
    rows = []
    for effect in effects:
        spec = handler_spec(effect.handler)
        if spec is None:
            raise LookupError(f"no outbox handler {effect.handler!r}")
        rows.append(OutboxEffect(
            handler=effect.handler, key=effect.key[:255], schema_name=schema,
            payload=_jsonable(effect.payload), queue=effect.queue or spec.queue,
            created_at=now, deadline_at=now + (effect.deadline or spec.deadline),
        ))
    # One INSERT ... ON CONFLICT (key) DO NOTHING, no savepoint needed inside a transaction.
    OutboxEffect.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(request_dispatch)


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    import json

    return dict(json.loads(json.dumps(payload, cls=DjangoJSONEncoder)))


# --- dispatch -----------------------------------------------------------------------------------


@functools.cache
def _flag_store() -> redis.Redis:
    import redis

    location = str(settings.CACHES["default"]["LOCATION"]).split(",")[0]
    return redis.Redis.from_url(location, socket_connect_timeout=2, socket_timeout=2)


def _dispatch_flag_key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{DISPATCH_FLAG}"


def request_dispatch() -> None:
    """Make sure a dispatcher runs for the effects committed so far (called after commit).

    If Redis or the broker is down the rows stay stored and the sweeper queues them.
    """
    try:
        raised = _flag_store().set(_dispatch_flag_key(), 1, nx=True, ex=DISPATCH_FLAG_SECONDS)
    except Exception as exc:
        logger.warning("could not flag the outbox dispatch; the sweeper will queue the effects: %s", exc)
        return
    if not raised:
        return
    from integrations.tasks import dispatch_outbox

    try:
        with schema_context(get_public_schema_name()):
            dispatch_outbox.apply_async(queue="default", retry=True, retry_policy=_PUBLISH_RETRY_POLICY)
    except Exception as exc:
        logger.warning("could not queue the outbox dispatcher; the sweeper will queue the effects: %s", exc)
        _clear_dispatch_flag()


def _clear_dispatch_flag() -> None:
    try:
        _flag_store().delete(_dispatch_flag_key())
    except Exception as exc:
        logger.warning("could not clear the outbox dispatch flag (it expires on its own): %s", exc)


def _table() -> str:
    from integrations.models import OutboxEffect

    return connection.ops.quote_name(OutboxEffect._meta.db_table)


def dispatch_pending(*, batch_size: int = DISPATCH_BATCH_SIZE) -> int:
    """Queue every stored, never-queued effect, in batches; returns how many were queued.

    The flag is cleared before the first claim, so a row committed later is either claimed here
    or raises the flag again. Safe to run concurrently (claims skip locked rows).
    """
    _clear_dispatch_flag()
    queued = 0
    with schema_context(get_public_schema_name()):
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {_table()} SET queued_at = %s WHERE id IN ("  # noqa: S608
                    f" SELECT id FROM {_table()} WHERE status = 'pending' AND queued_at IS NULL"
                    " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id, queue",
                    [timezone.now(), batch_size],
                )
                claimed = sorted((int(pk), str(queue)) for pk, queue in cursor.fetchall())
            published = _publish(claimed)
            queued += published
            if published < len(claimed):  # the broker failed: the rest waits for the sweeper
                break
            if len(claimed) < batch_size:
                break
    return queued


def _publish(claimed: list[tuple[int, str]], countdown: float | None = None) -> int:
    """Publish ``outbox.process`` for each claimed row over one producer; how many went out."""
    from askpro.celery import app
    from integrations.tasks import process_outbox_effect

    published = 0
    try:
        with app.producer_or_acquire() as producer:
            for effect_id, queue in claimed:
                process_outbox_effect.apply_async(
                    args=[effect_id], queue=queue, producer=producer, countdown=countdown,
                    retry=True, retry_policy=_PUBLISH_RETRY_POLICY,
                )
                published += 1
    except Exception as exc:
        logger.warning("could not queue %s of %s outbox effects; the sweeper will queue them: %s",
                       len(claimed) - published, len(claimed), exc)
    return published


def sweep(*, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Re-queue pending effects whose publish or message was lost; returns how many were queued.

    A row is stuck when it was never queued, or last queued (or due for its retry), more than
    ``OUTBOX_STUCK_AFTER_SECONDS`` ago. Rows a worker holds right now are skipped (locked).
    """
    now = now or timezone.now()
    stuck = now - timedelta(seconds=settings.OUTBOX_STUCK_AFTER_SECONDS)
    with schema_context(get_public_schema_name()), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, queue FROM {_table()} WHERE status = 'pending'"  # noqa: S608
                " AND COALESCE(queued_at, created_at) < %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                [stuck, limit],
            )
            rows = sorted((int(pk), str(queue)) for pk, queue in cursor.fetchall())
        published = _publish(rows)
        if published:
            from integrations.models import OutboxEffect

            OutboxEffect.objects.filter(pk__in=[pk for pk, _queue in rows[:published]]).update(queued_at=now)
    if rows:
        logger.warning("outbox sweeper re-queued %s of %s stuck effects", published, len(rows))
    return published


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failure: base, 2*base, 4*base, ... capped."""
    seconds = settings.OUTBOX_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


def process(effect_id: int, *, now: datetime | None = None, force: bool = False) -> str:
    """Deliver one stored effect once; returns its status afterwards (or why it did not run).

    Safe to call any number of times and concurrently: a done row is left alone, a row held by
    another worker is skipped ("busy"), and one waiting for its retry waits unless ``force``.
    The handler's writes and the row's ``done`` commit together.
    """
    from integrations.models import OutboxEffect

    now = now or timezone.now()
    with schema_context(get_public_schema_name()), transaction.atomic():
        row = OutboxEffect.objects.select_for_update(skip_locked=True).filter(pk=effect_id).first()
        if row is None:
            return "busy" if OutboxEffect.objects.filter(pk=effect_id).exists() else "missing"
        if row.status != OutboxEffect.Status.PENDING and not (force and row.status == OutboxEffect.Status.FAILED):
            return str(row.status)
        if row.next_attempt_at and row.next_attempt_at > now and not force:
            return "not_due"
        row.attempts += 1
        error = ""
        spec = handler_spec(row.handler)
        if spec is None:
            error = f"LookupError: no outbox handler {row.handler!r}"
        else:
            try:
                with transaction.atomic(), schema_context(row.schema_name):
                    spec.func(dict(row.payload))
            except Exception as exc:
                logger.warning("outbox effect %s (%s) failed on attempt %s: %s", row.pk, row.handler,
                               row.attempts, exc, exc_info=True)
                error = f"{type(exc).__name__}: {exc}"[:2000]
        row.last_error = error
        if not error:
            row.status, row.done_at, row.next_attempt_at = OutboxEffect.Status.DONE, timezone.now(), None
        elif row.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            row.status, row.next_attempt_at = OutboxEffect.Status.FAILED, None
            logger.error("outbox effect %s (%s) failed after %s attempts: %s", row.pk, row.handler, row.attempts, error)
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)
            row.queued_at = row.next_attempt_at  # the sweeper counts a lost retry from when it is due
            countdown = (row.next_attempt_at - now).total_seconds()
            claimed = [(row.pk, row.queue)]
            transaction.on_commit(lambda: _publish(claimed, countdown=countdown))
        row.save(update_fields=["attempts", "last_error", "status", "done_at", "next_attempt_at", "queued_at"])
        return str(row.status)


def deliver_pending(*, schema_name: str | None = None) -> int:
    """Run every pending, due effect in this process now (tests, shell, the management command)."""
    from integrations.models import OutboxEffect

    done = 0
    for _round in range(20):  # effects may owe further effects; stop at a cycle
        with schema_context(get_public_schema_name()):
            due = OutboxEffect.objects.filter(status=OutboxEffect.Status.PENDING).exclude(
                next_attempt_at__gt=timezone.now()
            )
            if schema_name is not None:
                due = due.filter(schema_name=schema_name)
            ids = list(due.order_by("id").values_list("pk", flat=True))
        if not ids:
            break
        done += sum(process(effect_id) == OutboxEffect.Status.DONE for effect_id in ids)
    return done


def overdue(now: datetime | None = None) -> QuerySet[OutboxEffect]:
    """Effects not done by their deadline (pending or failed): what the health check reports."""
    from integrations.models import OutboxEffect

    return OutboxEffect.objects.filter(
        status__in=[OutboxEffect.Status.PENDING, OutboxEffect.Status.FAILED],
        deadline_at__lt=now or timezone.now(),
    ).order_by("created_at")


def delay_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Publish ``task`` after the current transaction commits, in the schema active NOW.

    Only for work that may be lost with a broker outage (a cache refresh, a probe): effects owed
    to another domain go through :func:`enqueue`. ``on_commit(lambda: task.delay(...))`` inside
    ``tenant_context`` under an outer transaction would tag the task with the wrong schema.
    """
    schema = current_schema()

    def send() -> None:
        with schema_context(schema):
            task.apply_async(args=args, kwargs=kwargs)

    transaction.on_commit(send)
