"""Read helpers for the webhook inbox: status counts, statistics, health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, Min, Q, Sum
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from integrations.models import WebhookEvent

FAILED_ALERT_AGE_SECONDS = 300


@dataclass(frozen=True)
class InboxStats:
    total: int
    by_status: dict[str, int]
    success_rate: float | None  # processed+ignored among finished, in percent
    duplicates_prevented: int
    average_attempts: float
    oldest_pending_at: datetime | None
    average_processing_ms: float | None


def inbox_stats(provider: str | None = None, since: datetime | None = None) -> InboxStats:
    with schema_context(get_public_schema_name()):
        events = WebhookEvent.objects.all()
        if provider:
            events = events.filter(provider=provider)
        if since:
            events = events.filter(received_at__gte=since)
        by_status = {status: 0 for status in WebhookEvent.Status.values}
        for row in events.values("status").annotate(n=Count("id")):
            by_status[row["status"]] = row["n"]
        totals = events.aggregate(
            total=Count("id"), duplicates=Sum("duplicates"), attempts=Avg("attempts"),
            processing=Avg("processing_ms", filter=Q(processing_ms__isnull=False)),
            oldest=Min("received_at", filter=Q(status__in=WebhookEvent.PENDING_STATUSES)),
        )
    finished = by_status["processed"] + by_status["ignored"] + by_status["failed"] + by_status["malformed"]
    success = by_status["processed"] + by_status["ignored"]
    return InboxStats(
        total=totals["total"] or 0,
        by_status=by_status,
        success_rate=round(100.0 * success / finished, 1) if finished else None,
        duplicates_prevented=totals["duplicates"] or 0,
        average_attempts=round(float(totals["attempts"] or 0), 2),
        oldest_pending_at=totals["oldest"],
        average_processing_ms=round(float(totals["processing"]), 1) if totals["processing"] is not None else None,
    )


def inbox_health() -> dict[str, Any]:
    """``degraded`` when events wait longer than 5 minutes or any event has failed for good."""
    stats = inbox_stats()
    oldest_age = (timezone.now() - stats.oldest_pending_at).total_seconds() if stats.oldest_pending_at else 0
    degraded = oldest_age > FAILED_ALERT_AGE_SECONDS or stats.by_status["failed"] > 0
    return {
        "status": "degraded" if degraded else "ok",
        "pending": stats.by_status["received"] + stats.by_status["processing"],
        "failed": stats.by_status["failed"],
        "oldest_pending_seconds": round(oldest_age, 1),
    }
