"""Celery tasks (queue ``notifications``): thin callers of notifications.services."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from askpro.tenancy import for_each_tenant
from notifications import services


@shared_task(name="notifications.deliver")
def deliver_notification(delivery_id: int) -> str:
    """Send one delivery (runs in the schema it was queued from); safe to run twice."""
    try:
        return str(services.deliver(delivery_id).status)
    except services.DeliveryNotFound:
        return "missing"


@shared_task(name="notifications.notify_appointment_change", acks_late=True)
def notify_appointment_change(event_key: str, appointment_id: int, previous_starts_at: str | None = None) -> int:
    """Create (once) and queue the customer's message about an appointment change."""
    deliveries = services.notify_appointment_event(
        event_key, appointment_id,
        previous_starts_at=dt.datetime.fromisoformat(previous_starts_at) if previous_starts_at else None,
    )
    return len(deliveries)


@shared_task(name="notifications.queue_reminders")
def queue_reminders() -> int:
    """Beat entry: one ``notifications.queue_tenant_reminders`` per active tenant."""
    return for_each_tenant(lambda tenant: queue_tenant_reminders.delay())


@shared_task(name="notifications.queue_tenant_reminders")
def queue_tenant_reminders() -> int:
    return services.queue_due_reminders()


@shared_task(name="notifications.dispatch_due")
def dispatch_due() -> int:
    """Beat entry: one ``notifications.dispatch_tenant_due`` per active tenant."""
    return for_each_tenant(lambda tenant: dispatch_tenant_due.delay())


@shared_task(name="notifications.dispatch_tenant_due")
def dispatch_tenant_due() -> int:
    return services.dispatch_due()


