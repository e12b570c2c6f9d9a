"""Inbox operations: store a verified delivery, queue it, re-queue stuck events, retry failed ones."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from integrations.errors import MalformedPayload
from integrations.models import WebhookEvent
from integrations.providers import body_hash, provider_spec

if TYPE_CHECKING:
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

_ENQUEUE_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}


@dataclass(frozen=True)
class Receipt:
    event: WebhookEvent
    created: bool


def receive_webhook(
    provider: str, raw_body: bytes, payload: dict[str, Any], *, headers: dict[str, str],
    source_ip: str | None, tenant: Tenant | None = None, correlation_id: str = "",
) -> Receipt:
    """Store a verified delivery once per event key and queue its processing after commit.

    A repeated key only counts a prevented duplicate; it is never processed twice. Call it
    outside a transaction (the webhook views are non-atomic) so an IntegrityError stays local.
    """
    spec = provider_spec(provider)
    event_type = spec.event_type(payload)
    key = spec.event_key(payload, raw_body)[:255]
    if provider == "calcom" and tenant is not None:
        key = f"{tenant.slug}:{key}"[:255]
    # The tenant is resolved by the worker when it is not known from the URL: the answer to the
    # provider must not wait for registry look-ups. One INSERT in autocommit is the whole write.
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with _public_schema():
        try:
            with savepoint:
                event = WebhookEvent.objects.create(
                    provider=provider, event_key=key, event_type=event_type[:100], tenant=tenant,
                    raw_body=raw_body, payload=payload, headers=_kept_headers(spec.headers_kept, headers),
                    source_ip=source_ip, queue=spec.queue_for(event_type), correlation_id=correlation_id[:64],
                )
        except IntegrityError:
            WebhookEvent.objects.filter(provider=provider, event_key=key).update(duplicates=F("duplicates") + 1)
            event = WebhookEvent.objects.only("id", "status", "provider", "event_key").get(provider=provider, event_key=key)
            logger.info("duplicate %s webhook %s (%s) acknowledged", provider, event.pk, key)
            return Receipt(event, created=False)
    transaction.on_commit(lambda: enqueue_event(event))  # immediately in autocommit, else after commit
    return Receipt(event, created=True)


def _public_schema() -> Any:
    """Switch to the public schema only when needed (each switch costs a SET search_path)."""
    if connection.schema_name == get_public_schema_name():
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
        with _public_schema():  # the task starts in public, the processor switches
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
    """Events a worker should have finished by now: never queued, retry overdue, or worker lost."""
    now = now or timezone.now()
    stuck = timedelta(seconds=settings.WEBHOOK_STUCK_AFTER_SECONDS)
    lost = timedelta(seconds=max(settings.WEBHOOK_STUCK_AFTER_SECONDS, settings.CELERY_TASK_TIME_LIMIT + 60))
    return WebhookEvent.objects.filter(
        Q(status=WebhookEvent.Status.RECEIVED, next_attempt_at__isnull=True, received_at__lte=now - stuck)
        | Q(status=WebhookEvent.Status.RECEIVED, next_attempt_at__lte=now - stuck)
        | Q(status=WebhookEvent.Status.PROCESSING, processing_started_at__lte=now - lost)
    ).order_by("received_at")


def sweep_stuck_events(*, now: datetime | None = None, limit: int = 500) -> int:
    """Re-queue stuck events (Redis was down at receipt, a worker died); returns how many were queued."""
    with schema_context(get_public_schema_name()):
        events = list(stuck_events(now)[:limit])
        queued = sum(1 for event in events if enqueue_event(event))
    if events:
        logger.warning("webhook sweeper re-queued %s of %s stuck events", queued, len(events))
    return queued


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
            event.save(update_fields=["status", "next_attempt_at", "processed_at"])
            transaction.on_commit(lambda event=event: enqueue_event(event))  # type: ignore[misc]
    return chosen
