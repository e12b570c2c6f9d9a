from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from appointments.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    AppointmentStatusChanged,
)
from tests.fixtures.appointments import berlin
from tests.fixtures.hooks import DeliveredEvents

# A fixed week, so that slots do not depend on the day the tests run.
MONDAY = date(2027, 3, 22)
DST_SUNDAY = date(2027, 3, 28)  # Europe/Berlin springs forward at 02:00
NOW = berlin(MONDAY, "06:00")

@pytest.fixture
def events(listen: Any) -> DeliveredEvents:
    """Appointment events delivered for this test's committed changes."""
    return DeliveredEvents(listen(AppointmentBooked, AppointmentRescheduled, AppointmentCancelled, AppointmentStatusChanged))


def local_times(slots) -> list[str]:  # type: ignore[no-untyped-def]
    """Slot starts as Berlin wall-clock "HH:MM"."""
    from django.utils import timezone

    return [timezone.localtime(slot.starts_at).strftime("%H:%M") for slot in slots]
