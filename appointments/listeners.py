"""Reactions of the booking domain to its own events (askpro.hooks): keep the journey current."""

from __future__ import annotations

from askpro.hooks import Event, listens_to


@listens_to("appointment.booked", "appointment.rescheduled", "appointment.cancelled", "appointment.status_changed")
def recompute_customer_journey(event: Event) -> None:
    from appointments import journey
    from appointments.models import Appointment

    customer_id = Appointment.objects.filter(pk=event.payload["appointment_id"]).values_list(
        "customer_id", flat=True).first()
    if customer_id is not None:
        journey.recompute(customer_id, actor=str(event.payload.get("actor") or "system"))
