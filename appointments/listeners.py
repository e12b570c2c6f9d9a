"""Reactions of the booking domain to its own events (askpro.hooks): keep the journey current."""

from __future__ import annotations

from appointments.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    AppointmentStatusChanged,
)
from askpro.hooks import listens_to

AppointmentEvent = AppointmentBooked | AppointmentRescheduled | AppointmentCancelled | AppointmentStatusChanged


@listens_to(AppointmentBooked, AppointmentRescheduled, AppointmentCancelled, AppointmentStatusChanged)
def recompute_customer_journey(event: AppointmentEvent) -> None:
    """The customer's journey status, score and loyalty follow the booking (idempotent: both are
    derived from the customer's history)."""
    from appointments import crm
    from appointments.models import Appointment

    customer_id = Appointment.objects.filter(pk=event.appointment_id).values_list("customer_id", flat=True).first()
    if customer_id is not None:
        crm.refresh_customer(customer_id, actor=str(getattr(event, "actor", "") or "system"))
