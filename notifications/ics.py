"""The calendar file attached to appointment emails (RFC 5545 via icalendar)."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar, Event

from appointments.models import Appointment
from notifications import events as ev


def appointment_ics(appointment: Appointment, event_key: str, *, business: str, domain: str) -> bytes:
    """A REQUEST for bookings and moves, a CANCEL for cancellations; the UID is stable per
    appointment so calendar apps update the same entry, SEQUENCE follows the version."""
    cancelled = event_key == ev.APPOINTMENT_CANCELLED
    calendar = Calendar()
    calendar.add("prodid", "-//AskPro//Notifications//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    entry = Event()
    entry.add("uid", f"appointment-{appointment.pk}@{domain}")
    entry.add("dtstamp", dt.datetime.now(dt.UTC))
    entry.add("dtstart", appointment.starts_at.astimezone(dt.UTC))
    entry.add("dtend", appointment.ends_at.astimezone(dt.UTC))
    entry.add("summary", f"{appointment.service.name} · {business}".strip(" ·"))
    entry.add("location", ", ".join(p for p in (appointment.branch.name, appointment.branch.address) if p))
    entry.add("sequence", appointment.version)
    entry.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(entry)
    return calendar.to_ical()
