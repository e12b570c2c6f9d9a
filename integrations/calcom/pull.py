"""Pull: Cal.com bookings -> AskPro appointments (webhooks and drift resolution).

Cal.com webhooks are unordered, may repeat and carry no delivery id, so a webhook is only a
notification: the booking is fetched (``GET /v2/bookings/{uid}``) and its *current* state is
applied. Late or repeated deliveries therefore end in the same state. Without an API key the
payload itself is applied, guarded by ``remote_updated_at``.

Every change goes through the scheduling services with ``source="calcom"``, ``actor="calcom"``
(the push listener ignores those: no echo). The no-double-booking constraint still holds: a
Cal.com booking that clashes with a local one becomes a drift record for manual review and a
``conflict`` sync state, never an overwrite.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from appointments import customers as customer_services
from appointments import services as booking_services
from appointments.errors import (
    InvalidBookingRequest,
    InvalidTransition,
    PolicyViolation,
    SlotUnavailable,
)
from appointments.models import Appointment, Customer
from askpro.errors import DomainError
from integrations.calcom import queries
from integrations.calcom.client import (
    Attendee,
    Booking,
    CalcomClient,
    CalcomNotFound,
    invalidate_availability,
    parse_time,
)
from integrations.calcom.models import (
    BookingSync,
    BookingTombstone,
    CalcomConnection,
    ConflictStrategy,
    DriftRecord,
    SyncState,
)

logger = logging.getLogger(__name__)

Status = Appointment.Status
SOURCE = "calcom"
ACTOR = "calcom"
_CHAIN_LIMIT = 10

# Outcomes of apply_remote_booking: what happened to the local side.
CREATED, RESCHEDULED, CANCELLED, CONFIRMED, UNCHANGED = "created", "rescheduled", "cancelled", "confirmed", "unchanged"
SUPERSEDED, STALE, DEFERRED, UNMAPPED, IGNORED = "superseded", "stale", "deferred", "unmapped", "ignored"
CONFLICT, MANUAL_REVIEW, DRIFT = "conflict", "manual_review", "drift"
# a cancellation of a booking AskPro never had (kept as a tombstone), and a later creation of it
CANCELLED_UNKNOWN, CANCELLED_BEFORE = "cancelled_before_known", "already_cancelled"
# (CANCELLED_UNKNOWN is not among them: its tombstone is written, and an ignored event's writes roll back)
NOTHING_DONE = frozenset({SUPERSEDED, STALE, UNMAPPED, IGNORED, CANCELLED_BEFORE})


class MalformedBookingWebhook(ValueError):
    """A booking webhook that lacks what any booking has (uid, start, end): it can never apply."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(f"Cal.com booking webhook without {', '.join(missing)}")


def _webhook_time(payload: dict[str, Any], key: str) -> datetime | None:
    value = payload.get(key)
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


def booking_from_webhook(envelope: dict[str, Any]) -> Booking:
    """A webhook payload (v2021-10-20) as a :class:`Booking` (upper-case status, ``startTime``…);
    :class:`MalformedBookingWebhook` when uid, start or end is missing or unreadable."""
    payload = envelope.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    start, end = _webhook_time(payload, "startTime"), _webhook_time(payload, "endTime")
    missing = [name for name, value in (("uid", payload.get("uid")), ("startTime", start), ("endTime", end))
               if not value]
    if missing:
        raise MalformedBookingWebhook(missing)
    assert start is not None and end is not None
    organizer = payload.get("organizer") or {}
    return Booking(
        id=int(payload.get("bookingId") or 0), uid=str(payload["uid"]),
        status=str(payload.get("status") or "").lower(), start=start, end=end, title=str(payload.get("title") or ""),
        event_type_id=payload.get("eventTypeId"),
        attendees=tuple(Attendee.from_api(a) for a in payload.get("attendees") or []),
        host_user_ids=(int(organizer["id"]),) if organizer.get("id") is not None else (),
        metadata={str(k): str(v) for k, v in (payload.get("metadata") or {}).items()},
        rescheduled_from_uid=payload.get("rescheduleUid"),
        cancellation_reason=payload.get("cancellationReason") or payload.get("rejectionReason"),
        updated_at=parse_time(envelope.get("createdAt")), raw=payload,
    )


def handle_booking_webhook(trigger: str, envelope: dict[str, Any], connection: CalcomConnection) -> str:
    """Apply what a booking webhook tells us, using the booking as Cal.com has it now."""
    notified = booking_from_webhook(envelope)
    if trigger == "BOOKING_CANCELLED" and notified.raw.get("requestReschedule"):
        notified = dataclasses.replace(notified, cancellation_reason=(
            f"Neuer Termin angefragt: {notified.cancellation_reason}" if notified.cancellation_reason
            else "Neuer Termin angefragt"))
    if not connection.api_key:
        return apply_remote_booking(notified)
    client = queries.client_for(connection)
    try:
        try:
            current = client.get_booking(notified.uid)
        except CalcomNotFound:
            return apply_remote_booking(notified)
        current = dataclasses.replace(
            current,
            rescheduled_from_uid=current.rescheduled_from_uid or notified.rescheduled_from_uid,
            cancellation_reason=current.cancellation_reason or notified.cancellation_reason,
        )
        return apply_remote_booking(current, client=client)
    finally:
        client.close()


def apply_remote_booking(booking: Booking, *, client: CalcomClient | None = None, force: bool = False,
                         now: datetime | None = None) -> str:
    """Bring the local appointment in line with this Cal.com booking (create, move, cancel or
    confirm it); returns what happened. ``force``: apply even over a local change that is not
    pushed yet (drift resolution "Cal.com wins")."""
    now = now or timezone.now()
    with transaction.atomic():
        sync, superseded = find_sync(booking, client)
        if superseded:
            return SUPERSEDED
        if booking.status == "cancelled" and booking.rescheduled_to_uid:
            return SUPERSEDED  # replaced by a reschedule: the new booking carries the change
        if sync is None:
            return _import(booking, now)
        if not force:
            if sync.remote_updated_at and booking.updated_at and booking.updated_at < sync.remote_updated_at:
                return STALE
            if sync.state in (SyncState.PENDING, SyncState.FAILED):
                return DEFERRED  # an AskPro change is on its way to Cal.com and wins
        return _update(sync, booking, force, now)


def find_sync(booking: Booking, client: CalcomClient | None) -> tuple[BookingSync | None, bool]:
    """The sync row of this booking: by uid, by its reschedule predecessors, or by AskPro's own
    metadata (a booking we pushed). ``True`` when the uid is an old, superseded one."""
    sync, superseded = queries.sync_of_uid(booking.uid, lock=True)
    if sync is not None:
        return sync, superseded
    previous, seen = booking.rescheduled_from_uid, 0
    while previous and seen < _CHAIN_LIMIT:
        sync, _old = queries.sync_of_uid(previous, lock=True)
        if sync is not None:
            return sync, False
        if client is None:
            break
        try:
            previous = client.get_booking(previous).rescheduled_from_uid
        except CalcomNotFound:
            break
        seen += 1
    appointment_id = booking.metadata.get("askpro_appointment_id", "")
    if appointment_id.isdigit():
        sync = BookingSync.objects.select_for_update(of=("self",)).filter(appointment_id=int(appointment_id)).first()
        if sync is not None and sync.booking_uid and sync.booking_uid != booking.uid:
            # Our own booking, but the row already points elsewhere (e.g. re-created): not this one.
            return None, False
        return sync, False
    return None, False


def _import(booking: Booking, now: datetime) -> str:
    if booking.status not in queries.ACTIVE_REMOTE:
        # Cancelled before we ever knew it. Deliveries are unordered and the API may not return
        # the booking at all: remember the uid, so its BOOKING_CREATED arriving later is not imported.
        BookingTombstone.objects.get_or_create(
            booking_uid=booking.uid,
            defaults={"status": booking.status, "reason": (booking.cancellation_reason or "")[:2000],
                      "remote_updated_at": booking.updated_at},
        )
        return CANCELLED_UNKNOWN
    if BookingTombstone.objects.filter(booking_uid=booking.uid).exists():
        # Cal.com never revives a cancelled booking (a reschedule gets a new uid): whatever says
        # "accepted" here is older than the cancellation we already saw.
        return CANCELLED_BEFORE
    mapping = queries.service_for_event_type(booking.event_type_id)
    if mapping is None:
        return UNMAPPED
    remote = booking_summary(booking)
    staff_id = queries.staff_for_hosts(booking.host_user_ids)
    if staff_id is None:
        note_drift(None, booking.uid, DriftRecord.Field.MISSING, None, remote,
              "The Cal.com host is not mapped to a staff member.", DriftRecord.State.MANUAL_REVIEW)
        return MANUAL_REVIEW
    if not booking.attendees:
        note_drift(None, booking.uid, DriftRecord.Field.MISSING, None, remote, "The Cal.com booking has no attendee.",
              DriftRecord.State.MANUAL_REVIEW)
        return MANUAL_REVIEW
    service = mapping.service
    try:
        customer = _customer_for(booking.attendees[0])
        appointment = booking_services.book_appointment(
            customer_id=customer.pk, service_id=service.pk, starts_at=booking.start, staff_id=staff_id,
            duration_minutes=None if service.segments.exists() else _minutes(booking),
            status=Status.PENDING if booking.status == "pending" else Status.CONFIRMED,
            source=SOURCE, actor=ACTOR, external_ref=booking.uid, notes=booking.title[:500],
            check_availability=False, now=now, notify_customer=False,  # Cal.com tells its attendee
        )
    except SlotUnavailable:
        note_drift(None, booking.uid, DriftRecord.Field.MISSING, None, remote,
              "Booked in Cal.com, but the staff member is already booked at this time in AskPro.",
              DriftRecord.State.MANUAL_REVIEW)
        return CONFLICT
    except InvalidBookingRequest as exc:
        note_drift(None, booking.uid, DriftRecord.Field.MISSING, None, remote, f"Cannot import: {exc.message}",
              DriftRecord.State.MANUAL_REVIEW)
        return MANUAL_REVIEW
    BookingSync.objects.create(
        appointment=appointment, booking_uid=booking.uid, booking_id=booking.id or None, state=SyncState.SYNCED,
        previous_uids=[booking.rescheduled_from_uid] if booking.rescheduled_from_uid else [],
        last_pulled_at=now, remote_updated_at=booking.updated_at,
    )
    close_drift(None, booking.uid, DriftRecord.Field.MISSING, now, "imported")
    invalidate_availability()
    return CREATED


def _update(sync: BookingSync, booking: Booking, force: bool, now: datetime) -> str:
    appointment = Appointment.objects.select_related("customer").get(pk=sync.appointment_id)
    if sync.booking_uid != booking.uid:
        if sync.booking_uid and sync.booking_uid not in sync.previous_uids:
            sync.previous_uids = [*sync.previous_uids, sync.booking_uid]
        sync.booking_uid = booking.uid
        sync.booking_id = booking.id or sync.booking_id
    outcome, state = UNCHANGED, str(SyncState.SYNCED)
    if booking.status in queries.CANCELLED_REMOTE:
        outcome, state = _apply_cancellation(sync, appointment, booking, now)
    elif appointment.status in (Status.PENDING, Status.CONFIRMED):
        outcome, state = _apply_active(sync, appointment, booking, now)
    elif appointment.status == Status.CANCELLED:
        target = DriftRecord.State.MANUAL_REVIEW if force else DriftRecord.State.DRIFT
        note_drift(appointment.pk, booking.uid, DriftRecord.Field.STATUS, appointment.status, booking.status,
              "Cancelled in AskPro, still booked in Cal.com.", target)
        outcome, state = (MANUAL_REVIEW, SyncState.MANUAL_REVIEW) if force else (DRIFT, SyncState.DRIFT)
    if state == SyncState.SYNCED:
        difference = queries.attendee_difference(appointment, booking)
        if difference is not None:
            note_drift(appointment.pk, booking.uid, DriftRecord.Field.ATTENDEE, difference[0], difference[1],
                  "Different attendee in Cal.com.", DriftRecord.State.MANUAL_REVIEW)
            state = SyncState.MANUAL_REVIEW
    sync.state = state
    sync.last_pulled_at = now
    if booking.updated_at and (sync.remote_updated_at is None or booking.updated_at > sync.remote_updated_at):
        sync.remote_updated_at = booking.updated_at
    sync.next_push_at = None
    sync._change_reason = f"pulled from Cal.com: {outcome}"  # type: ignore[attr-defined]
    sync.save()
    if outcome not in (UNCHANGED,):
        invalidate_availability()
    return outcome


def _apply_cancellation(sync: BookingSync, appointment: Appointment, booking: Booking,
                        now: datetime) -> tuple[str, str]:
    if appointment.status == Status.CANCELLED:
        return UNCHANGED, SyncState.SYNCED
    if appointment.status not in (Status.PENDING, Status.CONFIRMED):
        return UNCHANGED, SyncState.SYNCED  # already happened: a late cancellation changes nothing
    reason = f"Cal.com: {booking.cancellation_reason}" if booking.cancellation_reason else "Abgesagt in Cal.com"
    try:
        booking_services.cancel_appointment(
            appointment_id=appointment.pk, source=SOURCE, actor=ACTOR, reason=reason[:500],
            notify_customer=False, now=now,
        )
    except (PolicyViolation, InvalidTransition) as exc:
        note_drift(appointment.pk, booking.uid, DriftRecord.Field.STATUS, appointment.status, booking.status,
              f"Cancelled in Cal.com, refused in AskPro: {exc.message}", DriftRecord.State.MANUAL_REVIEW)
        return MANUAL_REVIEW, SyncState.MANUAL_REVIEW
    close_drift(appointment.pk, booking.uid, DriftRecord.Field.STATUS, now, "cancelled from Cal.com")
    return CANCELLED, SyncState.SYNCED


def _apply_active(sync: BookingSync, appointment: Appointment, booking: Booking, now: datetime) -> tuple[str, str]:
    outcome = UNCHANGED
    if booking.start != appointment.starts_at:
        try:
            # the staff member stays: Cal.com may name another host (round robin) for the same booking
            booking_services.reschedule_appointment(
                appointment_id=appointment.pk, new_starts_at=booking.start,
                source=SOURCE, actor=ACTOR, reason="Verschoben in Cal.com", check_availability=False, now=now,
                notify_customer=False,
            )
        except SlotUnavailable:
            note_drift(appointment.pk, booking.uid, DriftRecord.Field.TIME, appointment.starts_at.isoformat(),
                  booking.start.isoformat(), "Moved in Cal.com to a time that is taken in AskPro.",
                  DriftRecord.State.MANUAL_REVIEW)
            return CONFLICT, SyncState.CONFLICT
        except DomainError as exc:  # policy or request refused: a person decides
            note_drift(appointment.pk, booking.uid, DriftRecord.Field.TIME, appointment.starts_at.isoformat(),
                  booking.start.isoformat(), f"Moved in Cal.com, refused in AskPro: {exc.message}",
                  DriftRecord.State.MANUAL_REVIEW)
            return MANUAL_REVIEW, SyncState.MANUAL_REVIEW
        close_drift(appointment.pk, booking.uid, DriftRecord.Field.TIME, now, "moved from Cal.com")
        outcome = RESCHEDULED
    if booking.status == "accepted" and appointment.status == Status.PENDING:
        booking_services.transition_appointment(
            appointment_id=appointment.pk, to_status=Status.CONFIRMED, source=SOURCE, actor=ACTOR, now=now,
        )
        outcome = CONFIRMED if outcome == UNCHANGED else outcome
    return outcome, SyncState.SYNCED


def _customer_for(attendee: Attendee) -> Customer:
    """The customer behind a Cal.com attendee: by phone (main or other number), else by email;
    created when unknown (through the one identity service, locked per number or address)."""
    language = "en" if attendee.language.startswith("en") else "de"
    phone = customer_services.normalize_phone(attendee.phone_number) if attendee.phone_number else None
    if phone:
        return customer_services.ensure_customer(
            phone=phone, name=attendee.name, email=attendee.email, language=language,
            source=Customer.Source.CALCOM, actor=ACTOR,
        )
    return customer_services.ensure_customer(
        name=attendee.name, email=attendee.email, language=language, source=Customer.Source.CALCOM, actor=ACTOR,
    )


def _minutes(booking: Booking) -> int:
    return max(int((booking.end - booking.start).total_seconds() // 60), 1)


def booking_summary(booking: Booking) -> dict[str, Any]:
    attendee = booking.attendees[0] if booking.attendees else None
    return {
        "uid": booking.uid, "status": booking.status, "start": booking.start.isoformat(),
        "end": booking.end.isoformat(), "event_type_id": booking.event_type_id,
        "attendee": {"name": attendee.name, "email": attendee.email} if attendee else None,
    }


def note_drift(appointment_id: int | None, booking_uid: str, field: str, local: Any, remote: Any, note: str,
          state: str) -> DriftRecord:
    """Record (or refresh: never duplicate) the open drift record of this appointment/booking and field."""
    record = queries.open_drift(appointment_id=appointment_id, booking_uid=booking_uid, field=field)
    if record is None:
        record = DriftRecord(appointment_id=appointment_id, field=field)
    record.booking_uid = booking_uid
    record.local_value, record.remote_value = local, remote
    if record.state != DriftRecord.State.MANUAL_REVIEW:
        record.state = state
    record.note = note[:2000]
    record.save()
    return record


def close_drift(appointment_id: int | None, booking_uid: str, field: str, now: datetime, note: str) -> None:
    record = queries.open_drift(appointment_id=appointment_id, booking_uid=booking_uid, field=field)
    if record is not None and record.state == DriftRecord.State.DRIFT:
        record.state = DriftRecord.State.RESOLVED
        record.strategy = ConflictStrategy.CALCOM_WINS
        record.resolved_at = now
        record.note = f"{record.note} ({note})".strip()[:2000]
        record.save()
