"""Demo data: notification settings and the company-level configuration of every event
(templates come from the built-in defaults). Phone bookings of the demo get their
confirmation, recorded in the outbox."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from appointments.models import Appointment
from notifications import events as ev
from notifications import services
from notifications.events import Channel
from notifications.models import (
    NotificationConfiguration,
    NotificationDelivery,
    NotificationSettings,
)

# Reminders go by SMS and fall back to email; everything else uses the event's default channel.
# Callers often leave no email: appointment messages fall back to SMS, reminders to email.
_FALLBACKS = {
    ev.APPOINTMENT_CONFIRMED: Channel.SMS,
    ev.APPOINTMENT_RESCHEDULED: Channel.SMS,
    ev.APPOINTMENT_CANCELLED: Channel.SMS,
    ev.REMINDER_24H: Channel.EMAIL,
    ev.REMINDER_2H: Channel.EMAIL,
}


def seed_tenant(tenant: Any) -> None:
    NotificationSettings.current()
    for event in ev.EVENTS.values():
        NotificationConfiguration.objects.get_or_create(
            scope=NotificationConfiguration.Scope.COMPANY, event=event.key,
            defaults={
                "enabled": True, "channel": event.default_channel,
                "fallback_channel": _FALLBACKS.get(event.key, ""), "retry_count": 3, "retry_delay_minutes": 1,
            },
        )
    if settings.NOTIFICATIONS_BACKEND != "outbox":
        return  # never send demo messages for real
    upcoming = Appointment.objects.filter(
        source=Appointment.Source.PHONE, starts_at__gt=timezone.now(),
        status__in=services.ACTIVE_APPOINTMENT_STATUSES,
    ).values_list("pk", flat=True)
    for appointment_id in upcoming:
        services.notify_appointment_event(ev.APPOINTMENT_CONFIRMED, appointment_id)
    # Record them in the outbox now, so the demo shows them even before a worker runs.
    pending = NotificationDelivery.objects.filter(
        status=NotificationDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    for delivery_id in pending:
        services.deliver(delivery_id)
