"""Domain events the appointments app emits (``askpro.hooks``), in the tenant's schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from askpro.hooks import DomainEvent


@dataclass(frozen=True)
class AppointmentBooked(DomainEvent):
    """A new appointment (one per occurrence of a recurring series, with its ``series_id``)."""

    event_name: ClassVar[str] = "appointment.booked"
    appointment_id: int
    source: str
    actor: str
    series_id: int | None = None
    notify_customer: bool = True  # False: the source tells the customer itself (Cal.com)


@dataclass(frozen=True)
class AppointmentRescheduled(DomainEvent):
    event_name: ClassVar[str] = "appointment.rescheduled"
    appointment_id: int
    source: str
    actor: str
    previous_starts_at: datetime
    notify_customer: bool = True


@dataclass(frozen=True)
class AppointmentCancelled(DomainEvent):
    event_name: ClassVar[str] = "appointment.cancelled"
    appointment_id: int
    source: str
    actor: str
    previous_status: str
    notify_customer: bool = True
    fee_cents: int = 0


@dataclass(frozen=True)
class AppointmentStatusChanged(DomainEvent):
    """In progress, done or no-show (not a booking change: Cal.com keeps its booking)."""

    event_name: ClassVar[str] = "appointment.status_changed"
    appointment_id: int
    source: str
    actor: str
    previous_status: str
    status: str
