from __future__ import annotations

import datetime as dt

from django.utils import timezone

from notifications import demo, events
from notifications.models import (
    NotificationConfiguration,
    NotificationDelivery,
    NotificationSettings,
)


def test_the_demo_seed_is_idempotent_and_shows_a_phone_booking_confirmed_in_the_outbox(in_salon, notif_cast, notif_appointment):
    # given a phone booking made before the seed ran (e.g. by the appointments demo)
    notif_appointment(notif_cast, timezone.now() + dt.timedelta(days=2), source="phone")
    notif_appointment(notif_cast, timezone.now() + dt.timedelta(days=2, hours=2), source="admin", customer=notif_cast.john)

    # when
    demo.seed_tenant(in_salon)
    demo.seed_tenant(in_salon)

    # then
    assert NotificationSettings.objects.count() == 1
    assert NotificationConfiguration.objects.filter(scope="company").count() == len(events.EVENTS) == 14  # one per event
    assert NotificationConfiguration.objects.get(event="reminder_24h").fallback_channel == "email"
    delivery = NotificationDelivery.objects.get()
    assert (delivery.event, delivery.recipient, delivery.status, delivery.backend) == (
        "appointment_confirmed", "maria@example.com", "sent", "outbox")
