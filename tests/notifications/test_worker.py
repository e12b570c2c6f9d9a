from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from appointments.events import AppointmentBooked
from askpro import hooks
from notifications.models import NotificationDelivery
from tests.conftest import wait_for


@pytest.mark.slow
def test_a_phone_booking_is_confirmed_in_the_outbox_by_a_real_worker(salon_cast_committed, notif_appointment, live_worker):
    # given a committed phone booking (no surrounding transaction: the hook fires at once)
    cast = salon_cast_committed
    appointment = notif_appointment(cast, timezone.now() + dt.timedelta(days=2))

    # when
    hooks.emit(AppointmentBooked(appointment_id=appointment.pk, source="phone", actor="voice-agent"))

    # then the worker on the notifications queue records it in the outbox
    delivery = wait_for(lambda: NotificationDelivery.objects.filter(status="sent").first(), timeout=30)
    assert (delivery.event, delivery.recipient, delivery.backend, delivery.attempts) == (
        "appointment_confirmed", "maria@example.com", "outbox", 1)
    assert NotificationDelivery.objects.count() == 1
