"""Cal.com webhooks: PING (connection check) and the booking triggers (pull, see ``pull``)."""

from __future__ import annotations

from django.utils import timezone

from integrations.calcom import pull
from integrations.calcom.models import CalcomConnection
from integrations.inbox import IgnoreEvent, MalformedEvent, webhook_handler
from integrations.models import WebhookEvent

BOOKING_TRIGGERS = ("BOOKING_CREATED", "BOOKING_REQUESTED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED",
                    "BOOKING_REJECTED")


@webhook_handler("calcom", "PING")
def record_ping(event: WebhookEvent) -> None:
    """Cal.com's "Test" button: remember that the tenant's webhook reaches us and verifies.

    A queryset update: the timestamps are kept out of the connection's history, and save() would
    write a history row per delivery all the same.
    """
    now = timezone.now()
    if not CalcomConnection.objects.update(last_ping_at=now, last_webhook_at=now):
        raise IgnoreEvent("no Cal.com connection in this schema")


@webhook_handler("calcom", *BOOKING_TRIGGERS)
def sync_booking(event: WebhookEvent) -> None:
    """Apply the booking's current Cal.com state to its appointment (idempotent, order-safe)."""
    connection = CalcomConnection.objects.filter(is_active=True).first()
    if connection is None:
        raise IgnoreEvent("Cal.com is not connected (or inactive) in this schema")
    if event.tenant is None:
        raise IgnoreEvent("no tenant")
    try:
        outcome = pull.handle_booking_webhook(event.event_type, event.payload or {}, connection)
    except pull.MalformedBookingWebhook as exc:
        raise MalformedEvent(str(exc)) from exc
    if outcome in pull.NOTHING_DONE:
        raise IgnoreEvent(f"nothing to do: {outcome}")
    CalcomConnection.objects.filter(pk=connection.pk).update(last_webhook_at=timezone.now())
