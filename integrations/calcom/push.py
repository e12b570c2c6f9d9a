"""Push: AskPro appointments -> Cal.com bookings.

A push does not replay events, it makes Cal.com look like the appointment now is (desired
state): no booking yet -> create; other time -> reschedule (Cal.com answers with a new uid);
cancelled -> cancel. So any number of pushes, in any order, converge, and a push is safe to
retry. A local change that is not pushed yet (sync ``pending``/``failed``) wins over webhooks
from Cal.com until the push has run (see ``pull``).

Failures never touch the appointment: the sync row shows ``failed`` with the error and
``next_push_at`` (exponential backoff); a time taken in Cal.com becomes ``conflict`` with a
drift record for manual review.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from appointments.models import Appointment
from integrations.calcom import queries
from integrations.calcom.client import (
    Booking,
    CalcomAuthError,
    CalcomClient,
    CalcomConflict,
    CalcomError,
    CalcomNotFound,
    CalcomRateLimited,
    CalcomSlotUnavailable,
    CalcomValidationError,
)
from integrations.calcom.models import (
    BookingSync,
    CalcomConnection,
    DriftRecord,
    EventTypeMapping,
    SyncState,
)
from integrations.calcom.pull import note_drift
from integrations.errors import IntegrationError

logger = logging.getLogger(__name__)

Status = Appointment.Status
PUSH_SOURCE = "askpro"  # metadata "source" of bookings AskPro created (echo suppression)
PUSH_KEY = "askpro_push_key"  # metadata: the idempotency key of one create request
_CHAIN_LIMIT = 10
# Cal.com's createdAt and our clock may differ: look a little further back for an unanswered create.
_CREATED_SLACK = timedelta(minutes=10)


@dataclass(frozen=True)
class PushOutcome:
    state: str  # the sync state after the push, or "skipped"
    retry_in: float | None = None  # seconds until the next attempt; None: no retry planned
    error: str = ""


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failed push: base, 2*base, 4*base, ... capped."""
    seconds = settings.CALCOM_PUSH_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return timedelta(seconds=min(seconds, settings.CALCOM_PUSH_RETRY_MAX_SECONDS))


def request_push(appointment_id: int, *, now: datetime | None = None) -> BookingSync | None:
    """Mark the appointment's Cal.com sync ``pending`` (a fresh retry budget) when Cal.com is
    connected and its service and staff are mapped; None when there is nothing to push."""
    now = now or timezone.now()
    with transaction.atomic():
        if queries.active_connection() is None:
            return None
        appointment = Appointment.objects.filter(pk=appointment_id).first()
        if appointment is None or not queries.is_pushable(appointment):
            return None
        sync = BookingSync.objects.select_for_update().filter(appointment_id=appointment_id).first()
        if sync is None:
            if appointment.status != Status.PENDING and appointment.status != Status.CONFIRMED:
                return None  # never was in Cal.com: nothing to cancel there
            sync = BookingSync(appointment=appointment)
        sync.state = SyncState.PENDING
        sync.push_attempts = 0
        sync.next_push_at = now
        sync._change_reason = "local change"  # type: ignore[attr-defined]
        sync.save()
        return sync


def push_appointment(appointment_id: int, *, recreate_cancelled: bool = False, now: datetime | None = None) -> PushOutcome:
    """Make Cal.com show the appointment as it is now (create / reschedule / cancel); records the
    outcome on its sync row. ``recreate_cancelled``: a booking cancelled in Cal.com is booked
    again (drift resolution "AskPro wins"); otherwise that is recorded as drift."""
    connection = queries.active_connection()
    if connection is None:
        return PushOutcome("skipped", error="not connected")
    client = queries.client_for(connection)
    try:
        with transaction.atomic():
            sync = (
                BookingSync.objects.select_for_update(of=("self",))
                .select_related("appointment__customer", "appointment__branch")
                .filter(appointment_id=appointment_id).first()
            )
            if sync is None or sync.state not in (SyncState.PENDING, SyncState.FAILED):
                return PushOutcome(sync.state if sync else "skipped")
            return _push_locked(client, connection, sync, recreate_cancelled, now or timezone.now())
    finally:
        client.close()


def _push_locked(client: CalcomClient, connection: CalcomConnection, sync: BookingSync, recreate_cancelled: bool,
                 now: datetime) -> PushOutcome:
    appointment = sync.appointment
    mapping = queries.event_type_mapping(appointment.service_id)
    if mapping is None or not queries.is_pushable(appointment):
        return _failed(sync, "service or staff member not mapped to Cal.com", now, retry=False)
    try:
        state = _converge(client, connection, sync, appointment, mapping.event_type_id, recreate_cancelled, now)
    except CalcomSlotUnavailable as exc:
        _record_conflict(sync, appointment, str(exc.message), now)
        return PushOutcome(SyncState.CONFLICT, error=str(exc.message))
    except (CalcomValidationError, CalcomConflict) as exc:  # the same request would fail again
        return _failed(sync, f"{exc.code}: {exc.details.get('calcom_message') or exc.message}", now, retry=False)
    except (CalcomAuthError, CalcomRateLimited, IntegrationError) as exc:
        return _failed(sync, f"{exc.code}: {exc.details.get('calcom_message') or exc.message}", now, retry=True)
    sync.state = state
    sync.last_error = ""
    sync.next_push_at = None
    sync.last_pushed_at = now
    sync._change_reason = "pushed"  # type: ignore[attr-defined]
    sync.save()
    return PushOutcome(state)


def _converge(client: CalcomClient, connection: CalcomConnection, sync: BookingSync, appointment: Appointment,
              event_type_id: int, recreate_cancelled: bool, now: datetime) -> str:
    if appointment.status == Status.CANCELLED:
        remote = current_booking(client, sync) if sync.booking_uid else _unanswered_create(client, sync, appointment,
                                                                                          event_type_id)
        if remote is not None and remote.status not in queries.CANCELLED_REMOTE:
            client.cancel_booking(remote.uid, reason=_cancel_reason(appointment))
        _forget_create(sync)
        return SyncState.SYNCED
    if appointment.status not in (Status.PENDING, Status.CONFIRMED):
        return SyncState.SYNCED  # in progress / done: Cal.com keeps its booking as it is
    remote = current_booking(client, sync) if sync.booking_uid else None
    if remote is None and not sync.booking_uid:
        remote = _unanswered_create(client, sync, appointment, event_type_id)
    if remote is not None and remote.status in queries.CANCELLED_REMOTE and not recreate_cancelled:
        note_drift(appointment.pk, remote.uid, DriftRecord.Field.STATUS, appointment.status, remote.status,
                   "Cancelled in Cal.com while AskPro changed the appointment.", DriftRecord.State.DRIFT)
        return SyncState.DRIFT
    if remote is None or remote.status in queries.CANCELLED_REMOTE:
        booking = _create(client, sync, appointment, event_type_id, now)
        _link(sync, booking)
    elif remote.start != appointment.starts_at:
        booking = client.reschedule_booking(
            remote.uid, start=appointment.starts_at, rescheduled_by=connection.organizer_email or None,
            reason="Verschoben in AskPro",
        )
        _link(sync, booking)
    elif remote.uid != sync.booking_uid:
        _link(sync, remote)
    return SyncState.SYNCED


def _create(client: CalcomClient, sync: BookingSync, appointment: Appointment, event_type_id: int,
            now: datetime) -> Booking:
    """Create the booking with an idempotency key in its metadata. Until Cal.com's answer arrives
    the key stays on the sync row: a timeout may hide a booking Cal.com made (see
    :func:`_unanswered_create`)."""
    key = sync.push_key or uuid.uuid4().hex
    sync.push_key, sync.push_key_sent_at, sync.push_key_start = key, now, appointment.starts_at
    try:
        booking = client.create_booking(
            event_type_id=event_type_id, start=appointment.starts_at, attendee=queries.attendee_of(appointment),
            metadata={"source": PUSH_SOURCE, "askpro_appointment_id": str(appointment.pk), PUSH_KEY: key},
        )
    except CalcomError as exc:
        if exc.status is not None and exc.status < 500:
            _forget_create(sync)  # Cal.com answered: it refused, nothing was booked
        raise
    _forget_create(sync)
    return booking


def _forget_create(sync: BookingSync) -> None:
    sync.push_key, sync.push_key_sent_at, sync.push_key_start = "", None, None


def _unanswered_create(client: CalcomClient, sync: BookingSync, appointment: Appointment,
                       event_type_id: int) -> Booking | None:
    """The booking a create without answer (timeout) made after all, if any: found by its
    idempotency key, else by our appointment id or the attendee at the start that was sent.
    Linked to the sync row, so the retry does not book the same time again (which Cal.com would
    refuse as taken, by our own booking)."""
    if not sync.push_key or sync.push_key_sent_at is None:
        return None
    attendee = queries.attendee_of(appointment)
    candidates = list(client.iter_bookings(event_type_ids=[event_type_id],
                                           after_created_at=sync.push_key_sent_at - _CREATED_SLACK))

    def same_person(booking: Booking) -> bool:
        theirs = booking.attendees[0] if booking.attendees else None
        if theirs is None:
            return False
        if attendee.email and theirs.email:
            return attendee.email.strip().lower() == theirs.email.strip().lower()
        return bool(attendee.phone_number) and attendee.phone_number == theirs.phone_number

    found = (
        next((b for b in candidates if b.metadata.get(PUSH_KEY) == sync.push_key), None)
        or next((b for b in candidates if b.start == sync.push_key_start and b.status in queries.ACTIVE_REMOTE
                 and (b.metadata.get("askpro_appointment_id") == str(appointment.pk) or same_person(b))), None)
    )
    if found is None:
        logger.info("unanswered Cal.com create of appointment %s not found there: creating it", appointment.pk)
        return None
    logger.warning("Cal.com booking %s of appointment %s was made although the create timed out: linked",
                   found.uid, appointment.pk)
    _link(sync, found)
    _forget_create(sync)
    return found


def current_booking(client: CalcomClient, sync: BookingSync) -> Booking | None:
    """The booking as Cal.com has it now, following reschedules made there (new uids)."""
    if not sync.booking_uid:
        return None
    try:
        booking = client.get_booking(sync.booking_uid)
        for _ in range(_CHAIN_LIMIT):
            if booking.status != "cancelled" or not booking.rescheduled_to_uid:
                break
            booking = client.get_booking(booking.rescheduled_to_uid)
    except CalcomNotFound:
        return None
    return booking


def _link(sync: BookingSync, booking: Booking) -> None:
    if sync.booking_uid and sync.booking_uid != booking.uid and sync.booking_uid not in sync.previous_uids:
        sync.previous_uids = [*sync.previous_uids, sync.booking_uid]
    sync.booking_uid = booking.uid
    sync.booking_id = booking.id or sync.booking_id
    if booking.updated_at and (sync.remote_updated_at is None or booking.updated_at > sync.remote_updated_at):
        sync.remote_updated_at = booking.updated_at


def _cancel_reason(appointment: Appointment) -> str:
    modification = appointment.modifications.filter(kind="cancellation").order_by("-created_at").first()
    return (modification.reason if modification and modification.reason else "Abgesagt in AskPro")[:500]


def _failed(sync: BookingSync, error: str, now: datetime, *, retry: bool) -> PushOutcome:
    sync.push_attempts += 1
    sync.last_error = error[:2000]
    sync.state = SyncState.FAILED
    retry = retry and sync.push_attempts < settings.CALCOM_PUSH_MAX_ATTEMPTS
    sync.next_push_at = now + retry_delay(sync.push_attempts) if retry else None
    sync._change_reason = "push failed"  # type: ignore[attr-defined]
    sync.save()
    logger.warning("Cal.com push of appointment %s failed (attempt %s, %s): %s", sync.appointment_id,
                   sync.push_attempts, "retrying" if retry else "giving up", error)
    return PushOutcome(SyncState.FAILED, retry_delay(sync.push_attempts).total_seconds() if retry else None, error)


def _record_conflict(sync: BookingSync, appointment: Appointment, error: str, now: datetime) -> None:
    sync.push_attempts += 1
    sync.state = SyncState.CONFLICT
    sync.last_error = f"CALCOM_SLOT_UNAVAILABLE: {error}"[:2000]
    sync.next_push_at = None
    sync._change_reason = "slot taken in Cal.com"  # type: ignore[attr-defined]
    sync.save()
    note_drift(appointment.pk, sync.booking_uid or "", DriftRecord.Field.TIME, appointment.starts_at.isoformat(), None,
               "Cal.com refused this time (already booked there).", DriftRecord.State.MANUAL_REVIEW)


@dataclass
class EventTypePushReport:
    created: int = 0
    updated: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"success": not self.errors, "event_types_created": self.created,
                "event_types_updated": self.updated, "errors": self.errors}


def push_event_types(*, now: datetime | None = None) -> EventTypePushReport:
    """Create or update one Cal.com event type per active service (title, slug, length incl.
    composite steps); new ones are mapped. A failing service is reported, the others go on."""
    from appointments.availability import plan_for
    from appointments.models import Service

    connection = queries.require_connection()
    now = now or timezone.now()
    report = EventTypePushReport()
    with queries.client_for(connection) as client:
        for service in Service.objects.filter(is_active=True).order_by("name", "pk"):
            length = max(plan_for(service).total // 60, 1)
            mapping = queries.event_type_mapping(service.pk)
            try:
                if mapping is not None:
                    team_id = connection.team_id if mapping.is_team_event else None
                    client.update_event_type(mapping.event_type_id, team_id=team_id, title=service.name,
                                             lengthInMinutes=length)
                    mapping.length_minutes, mapping.last_pushed_at = length, now
                    mapping.save(update_fields=["length_minutes", "last_pushed_at", "updated_at"])
                    report.updated += 1
                else:
                    event_type = client.create_event_type(
                        title=service.name, slug=slugify(service.name) or f"service-{service.pk}",
                        length_minutes=length, description=service.description, team_id=connection.team_id,
                    )
                    EventTypeMapping.objects.create(
                        service=service, event_type_id=event_type.id, slug=event_type.slug,
                        is_team_event=connection.team_id is not None, length_minutes=length, last_pushed_at=now,
                    )
                    report.created += 1
            except IntegrationError as exc:
                report.errors.append({"service_id": service.pk, "service": service.name, "code": exc.code,
                                      "message": str(exc.details.get("calcom_message") or exc.message)})
    return report
