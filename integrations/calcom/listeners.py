"""Appointment changes made in AskPro go to Cal.com (push); every change drops cached Cal.com slots."""

from __future__ import annotations

from askpro.hooks import Event, listens_to
from askpro.tenancy import delay_on_commit
from integrations.calcom import push
from integrations.calcom.client import invalidate_availability
from integrations.calcom.pull import ACTOR, SOURCE


@listens_to("appointment.booked", "appointment.rescheduled", "appointment.cancelled", "appointment.status_changed")
def push_to_calcom(event: Event) -> None:
    """Queue a push unless the change came from Cal.com itself (no echo)."""
    invalidate_availability()
    if event.payload.get("source") == SOURCE or event.payload.get("actor") == ACTOR:
        return
    if event.name == "appointment.status_changed":
        return  # in progress / done / no-show: Cal.com keeps its booking as it is
    if push.request_push(int(event.payload["appointment_id"])) is not None:
        from integrations.calcom.tasks import push_appointment

        delay_on_commit(push_appointment, int(event.payload["appointment_id"]))
