"""Appointment changes made in AskPro go to Cal.com (push); every change drops cached Cal.com slots.

Delivered through the outbox: a committed change is pushed even if Redis was down at commit.
"""

from __future__ import annotations

from appointments.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    AppointmentStatusChanged,
)
from askpro.hooks import listens_to
from integrations.calcom import push
from integrations.calcom.client import invalidate_availability
from integrations.calcom.pull import ACTOR, SOURCE

AppointmentEvent = AppointmentBooked | AppointmentRescheduled | AppointmentCancelled | AppointmentStatusChanged


@listens_to(AppointmentBooked, AppointmentRescheduled, AppointmentCancelled, AppointmentStatusChanged, queue="webhooks")
def push_to_calcom(event: AppointmentEvent) -> None:
    """Push the appointment's current state unless the change came from Cal.com itself (no echo).

    Idempotent: a push makes Cal.com look like the appointment now is. A temporary failure leaves
    the sync row ``failed`` with its ``next_push_at``; ``calcom.reconcile`` retries it.
    """
    invalidate_availability()
    if event.source == SOURCE or event.actor == ACTOR:
        return
    if isinstance(event, AppointmentStatusChanged):
        return  # in progress / done / no-show: Cal.com keeps its booking as it is
    if push.request_push(event.appointment_id) is not None:
        push.push_appointment(event.appointment_id)
