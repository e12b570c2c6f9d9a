from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from askpro import hooks
from tests.fixtures.appointments import berlin

# A fixed week, so that slots do not depend on the day the tests run; it and the three weeks after
# it have no public holiday in Berlin (the branch's state): 2027's spring change fell on Easter.
MONDAY = date(2028, 3, 20)
DST_SUNDAY = date(2028, 3, 26)  # Europe/Berlin springs forward at 02:00
NOW = berlin(MONDAY, "06:00")

EVENT_NAMES = (
    "appointment.booked",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.status_changed",
)


@pytest.fixture
def events() -> Iterator[list[hooks.Event]]:
    """Appointment events dispatched during the test (after commit)."""
    seen: list[hooks.Event] = []

    def remember(event: hooks.Event) -> None:
        seen.append(event)

    hooks.listens_to(*EVENT_NAMES)(remember)
    try:
        yield seen
    finally:
        for name in EVENT_NAMES:
            hooks._listeners[name].remove(remember)


def local_times(slots) -> list[str]:  # type: ignore[no-untyped-def]
    """Slot starts as Berlin wall-clock "HH:MM"."""
    from django.utils import timezone

    return [timezone.localtime(slot.starts_at).strftime("%H:%M") for slot in slots]
