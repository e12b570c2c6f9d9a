"""Drift: find where AskPro and Cal.com disagree, and repair it.

Detection lists the Cal.com bookings updated since the last run (``afterUpdatedAt``, a minute
of overlap against clock skew) for the mapped event types and compares each with its
appointment: time, status (cancelled or not) and attendee. Every difference is one open
``DriftRecord`` per appointment and field (refreshed, never duplicated); a booking unknown in
AskPro is recorded as ``missing``. Appointments with a push on its way are not compared.

Resolution by strategy:

* ``platform_wins`` (default): AskPro's appointment is the truth; it is pushed (Cal.com is
  rescheduled, cancelled, or booked again).
* ``calcom_wins``: the Cal.com booking is the truth; the appointment is moved or cancelled through
  the scheduling services (a clash goes to manual review; a cancelled appointment is never
  revived).
* attendee differences always go to ``manual_review``; bookings missing in AskPro are imported
  (a lost webhook is not a conflict), a clash goes to manual review.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from appointments.models import Appointment
from integrations.calcom import pull, push, queries
from integrations.calcom.client import Booking, CalcomClient, CalcomNotFound
from integrations.calcom.errors import InvalidStrategy
from integrations.calcom.models import (
    BookingSync,
    CalcomConnection,
    ConflictStrategy,
    DriftRecord,
    EventTypeMapping,
    SyncState,
)
from integrations.errors import IntegrationError

logger = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=1)
ISSUES: dict[str, str] = {
    DriftRecord.Field.TIME: "time_mismatch",
    DriftRecord.Field.STATUS: "status_mismatch",
    DriftRecord.Field.ATTENDEE: "attendee_mismatch",
    DriftRecord.Field.MISSING: "missing_locally",
}


@dataclass(frozen=True)
class DriftIssue:
    appointment_id: int | None
    booking_uid: str
    issue: str
    platform_value: Any
    calcom_value: Any

    def as_dict(self) -> dict[str, Any]:
        return {"appointment_id": self.appointment_id, "booking_uid": self.booking_uid, "issue": self.issue,
                "platform_value": self.platform_value, "calcom_value": self.calcom_value}


@dataclass
class DriftReport:
    compared: int = 0
    issues: list[DriftIssue] = field(default_factory=list)
    since: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        drifted = {issue.appointment_id or issue.booking_uid for issue in self.issues}
        return {
            "success": True, "drift_detected": bool(self.issues), "total_appointments": self.compared,
            "drifted_appointments": len(drifted), "since": self.since.isoformat() if self.since else None,
            "details": [issue.as_dict() for issue in self.issues],
        }


@dataclass
class ResolveReport:
    strategy: str
    resolved: int = 0
    failed: int = 0
    manual_review: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"success": self.failed == 0, "strategy": self.strategy, "resolved_count": self.resolved,
                "failed_count": self.failed, "manual_review_count": self.manual_review, "errors": self.errors}


def detect_drift(*, full: bool = False, now: datetime | None = None) -> DriftReport:
    """Compare the Cal.com bookings updated since the last run with their appointments and record
    every difference as drift (attendee: manual review); ``full`` compares every booking."""
    connection = queries.require_connection()
    started = now or timezone.now()
    since = None if full or connection.last_reconciled_at is None else connection.last_reconciled_at - OVERLAP
    report = DriftReport(since=since)
    event_type_ids = sorted(EventTypeMapping.objects.values_list("event_type_id", flat=True))
    if event_type_ids:
        with queries.client_for(connection) as client:
            for booking in client.iter_bookings(after_updated_at=since, event_type_ids=event_type_ids):
                _compare(booking, client, report, started)
    CalcomConnection.objects.filter(pk=connection.pk).update(last_reconciled_at=started)
    return report


def _compare(booking: Booking, client: CalcomClient, report: DriftReport, now: datetime) -> None:
    with transaction.atomic():
        sync, superseded = pull.find_sync(booking, client)
        if superseded or (booking.status == "cancelled" and booking.rescheduled_to_uid):
            return
        if sync is None:
            if booking.status in queries.ACTIVE_REMOTE and queries.service_for_event_type(booking.event_type_id):
                summary = pull.booking_summary(booking)
                pull.note_drift(None, booking.uid, DriftRecord.Field.MISSING, None, summary,
                                "Booked in Cal.com, unknown in AskPro.", DriftRecord.State.DRIFT)
                report.issues.append(DriftIssue(None, booking.uid, ISSUES[DriftRecord.Field.MISSING], None, summary))
            return
        if sync.state in (SyncState.PENDING, SyncState.FAILED):
            return  # an AskPro change is on its way to Cal.com
        report.compared += 1
        appointment = Appointment.objects.select_related("customer").get(pk=sync.appointment_id)
        differences = differences_of(appointment, booking)
        for field_name, local, remote in differences:
            manual = field_name == DriftRecord.Field.ATTENDEE
            pull.note_drift(appointment.pk, booking.uid, field_name, local, remote,
                            "Different attendee in Cal.com." if manual else "AskPro and Cal.com differ.",
                            DriftRecord.State.MANUAL_REVIEW if manual else DriftRecord.State.DRIFT)
            report.issues.append(DriftIssue(appointment.pk, booking.uid, ISSUES[field_name], local, remote))
        if sync.booking_uid != booking.uid:  # rescheduled in Cal.com without us hearing of it
            if sync.booking_uid and sync.booking_uid not in sync.previous_uids:
                sync.previous_uids = [*sync.previous_uids, sync.booking_uid]
            sync.booking_uid = booking.uid
        if differences:
            only_manual = all(f == DriftRecord.Field.ATTENDEE for f, _l, _r in differences)
            sync.state = SyncState.MANUAL_REVIEW if only_manual else SyncState.DRIFT
        else:
            for record in DriftRecord.objects.filter(appointment=appointment, state=DriftRecord.State.DRIFT):
                record.state, record.resolved_at = DriftRecord.State.RESOLVED, now
                record.note = f"{record.note} (in step again)".strip()
                record.save()
            if sync.state in (SyncState.DRIFT, SyncState.RESOLVED):
                sync.state = SyncState.SYNCED
        sync._change_reason = "drift check"  # type: ignore[attr-defined]
        sync.save()


def differences_of(appointment: Appointment, booking: Booking) -> list[tuple[str, Any, Any]]:
    """(field, AskPro value, Cal.com value) for each way the two disagree."""
    found: list[tuple[str, Any, Any]] = []
    if appointment.status in queries.COMPARED_LOCAL:
        local_cancelled = appointment.status == Appointment.Status.CANCELLED
        remote_cancelled = booking.status in queries.CANCELLED_REMOTE
        if local_cancelled != remote_cancelled:
            found.append((DriftRecord.Field.STATUS, str(appointment.status), booking.status))
        elif not local_cancelled and booking.start != appointment.starts_at:
            found.append((DriftRecord.Field.TIME, appointment.starts_at.isoformat(), booking.start.isoformat()))
    attendee = queries.attendee_difference(appointment, booking)
    if attendee is not None:
        found.append((DriftRecord.Field.ATTENDEE, attendee[0], attendee[1]))
    return found


def resolve_drift(strategy: str | None = None, *, now: datetime | None = None) -> ResolveReport:
    """Resolve every open drift record by ``strategy`` (default: the connection's); attendee
    differences and clashes end in manual review, Cal.com failures are counted and stay open."""
    connection = queries.require_connection()
    strategy = strategy or connection.conflict_strategy
    if strategy not in ConflictStrategy.values:
        raise InvalidStrategy(details={"strategy": strategy, "allowed": list(ConflictStrategy.values)})
    now = now or timezone.now()
    report = ResolveReport(strategy)
    records = list(DriftRecord.objects.filter(state=DriftRecord.State.DRIFT).order_by("pk"))
    groups: dict[int, list[int]] = defaultdict(list)
    missing: list[DriftRecord] = []
    for record in records:
        if record.field == DriftRecord.Field.ATTENDEE:
            _set_state([record.pk], DriftRecord.State.MANUAL_REVIEW, strategy, now, "attendee differs")
            report.manual_review += 1
        elif record.appointment_id is None:
            missing.append(record)
        else:
            groups[record.appointment_id].append(record.pk)
    with queries.client_for(connection) as client:
        for record in missing:
            _guarded(report, [record.pk], partial(_resolve_missing, record, client, now))
            _finish(report, [record.pk])
        for appointment_id, ids in groups.items():
            if strategy == ConflictStrategy.PLATFORM_WINS:
                _guarded(report, ids, partial(_platform_wins, appointment_id, now))
            else:
                _guarded(report, ids, partial(_calcom_wins, appointment_id, client, now))
            _finish(report, ids)
    return report


def _guarded(report: ResolveReport, ids: list[int], action: Callable[[], None]) -> None:
    try:
        action()
    except IntegrationError as exc:
        note = f"{exc.code}: {exc.details.get('calcom_message') or exc.message}"
        DriftRecord.objects.filter(pk__in=ids, state=DriftRecord.State.DRIFT).update(note=note[:2000])
        report.errors.append({"drift_ids": ids, "code": exc.code, "message": str(exc.message)})
        logger.warning("resolving drift %s failed: %s", ids, note)


def _platform_wins(appointment_id: int, now: datetime) -> None:
    if push.request_push(appointment_id, now=now) is None:
        _to_manual(appointment_id, "AskPro cannot push this appointment (not connected or not mapped).")
        return
    outcome = push.push_appointment(appointment_id, recreate_cancelled=True, now=now)
    if outcome.state == SyncState.SYNCED:
        BookingSync.objects.filter(appointment_id=appointment_id).update(state=SyncState.RESOLVED)
        DriftRecord.objects.filter(appointment_id=appointment_id, state=DriftRecord.State.DRIFT).update(
            state=DriftRecord.State.RESOLVED, strategy=ConflictStrategy.PLATFORM_WINS, resolved_at=now)
    elif outcome.state == SyncState.CONFLICT:
        _to_manual(appointment_id, outcome.error)
    elif outcome.error:
        DriftRecord.objects.filter(appointment_id=appointment_id, state=DriftRecord.State.DRIFT).update(
            note=f"push failed, retried later: {outcome.error}"[:2000])


def _calcom_wins(appointment_id: int, client: CalcomClient, now: datetime) -> None:
    sync = BookingSync.objects.filter(appointment_id=appointment_id).first()
    booking = push.current_booking(client, sync) if sync is not None else None
    if booking is None:
        _to_manual(appointment_id, "The booking no longer exists in Cal.com.")
        return
    outcome = pull.apply_remote_booking(booking, client=client, force=True, now=now)
    if outcome in (pull.CONFLICT, pull.MANUAL_REVIEW):
        _to_manual(appointment_id, f"Cal.com's version cannot be applied ({outcome}).")
        return
    BookingSync.objects.filter(appointment_id=appointment_id).update(state=SyncState.RESOLVED)
    DriftRecord.objects.filter(appointment_id=appointment_id, state=DriftRecord.State.DRIFT).update(
        state=DriftRecord.State.RESOLVED, strategy=ConflictStrategy.CALCOM_WINS, resolved_at=now)


def _resolve_missing(record: DriftRecord, client: CalcomClient, now: datetime) -> None:
    try:
        booking = client.get_booking(record.booking_uid)
    except CalcomNotFound:
        _set_state([record.pk], DriftRecord.State.MANUAL_REVIEW, "", now, "gone from Cal.com")
        return
    outcome = pull.apply_remote_booking(booking, client=client, force=True, now=now)
    if outcome in (pull.CREATED, pull.IGNORED, pull.SUPERSEDED, pull.UNCHANGED, pull.CANCELLED_UNKNOWN,
                   pull.CANCELLED_BEFORE):
        _set_state([record.pk], DriftRecord.State.RESOLVED, ConflictStrategy.CALCOM_WINS, now, f"imported ({outcome})")
    elif outcome == pull.UNMAPPED:
        _set_state([record.pk], DriftRecord.State.MANUAL_REVIEW, "", now, "event type no longer mapped")


def _to_manual(appointment_id: int, note: str) -> None:
    DriftRecord.objects.filter(appointment_id=appointment_id, state=DriftRecord.State.DRIFT).update(
        state=DriftRecord.State.MANUAL_REVIEW, note=note[:2000])
    BookingSync.objects.filter(appointment_id=appointment_id).update(state=SyncState.MANUAL_REVIEW)


def _set_state(ids: list[int], state: str, strategy: str, now: datetime, note: str) -> None:
    for record in DriftRecord.objects.filter(pk__in=ids):
        record.state = state
        record.strategy = strategy if state == DriftRecord.State.RESOLVED else record.strategy
        record.resolved_at = now if state == DriftRecord.State.RESOLVED else None
        record.note = f"{record.note} ({note})".strip()[:2000]
        record.save()


def _finish(report: ResolveReport, ids: list[int]) -> None:
    states = list(DriftRecord.objects.filter(pk__in=ids).values_list("state", flat=True))
    report.resolved += states.count(DriftRecord.State.RESOLVED)
    report.manual_review += states.count(DriftRecord.State.MANUAL_REVIEW)
    report.failed += states.count(DriftRecord.State.DRIFT)
