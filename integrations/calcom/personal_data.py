"""Personal data of the Cal.com sync for data-protection requests (contract: privacy.contract).

The sync rows hold only booking ids; provider errors, drift values and cancellation reasons may
quote the attendee, so erasure blanks them (also in the history table). The attendee's bookings
in Cal.com itself are cancelled by the appointments' erasure: its AppointmentCancelled events go
through the outbox to ``push_to_calcom``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from integrations.calcom.models import BookingSync, BookingTombstone, DriftRecord
from privacy.contract import Identity, RetentionRules


def export(customer_id: int) -> dict[str, Any]:
    syncs = BookingSync.objects.filter(appointment__customer_id=customer_id).order_by("appointment_id")
    return {
        "calendar_bookings": [
            {"appointment_id": s.appointment_id, "calcom_booking_uid": s.booking_uid, "state": s.state,
             "last_pushed_at": s.last_pushed_at}
            for s in syncs
        ],
    }


def erase(person: Identity, now: dt.datetime | None = None) -> dict[str, int]:
    appointment_ids = list(person.appointment_ids)
    history = BookingSync.history.model  # type: ignore[attr-defined]
    with transaction.atomic():
        syncs = BookingSync.objects.filter(appointment_id__in=appointment_ids)
        uids: set[str] = set()
        for uid, previous in syncs.values_list("booking_uid", "previous_uids"):
            uids.update(u for u in [uid, *(previous or [])] if u)
        counts = {
            "sync_errors": syncs.exclude(last_error="").update(last_error=""),
            "sync_history": history.objects.filter(appointment_id__in=appointment_ids).update(
                last_error="", history_change_reason=None),
            "drift_records": DriftRecord.objects.filter(appointment_id__in=appointment_ids).update(
                local_value=None, remote_value=None, note=""),
            "tombstones": BookingTombstone.objects.filter(booking_uid__in=uids).exclude(reason="").update(reason=""),
        }
    return counts


def apply_retention(rules: RetentionRules, now: dt.datetime) -> dict[str, int]:
    return {}  # nothing personal kept beyond the appointment's life
