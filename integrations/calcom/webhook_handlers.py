"""Cal.com webhooks handled in this phase: PING (connection check). Booking triggers come with the sync."""

from __future__ import annotations

from django.utils import timezone

from integrations.calcom.models import CalcomConnection
from integrations.inbox import IgnoreEvent, webhook_handler
from integrations.models import WebhookEvent


@webhook_handler("calcom", "PING")
def record_ping(event: WebhookEvent) -> None:
    """Cal.com's "Test" button: remember that the tenant's webhook reaches us and verifies."""
    connection = CalcomConnection.objects.select_for_update().filter().first()
    if connection is None:
        raise IgnoreEvent("no Cal.com connection in this schema")
    now = timezone.now()
    connection.last_ping_at = now
    connection.last_webhook_at = now
    connection.save(update_fields=["last_ping_at", "last_webhook_at"])
