"""Writes of the booking domain. Every booking change goes through one of these functions.

Each runs in one transaction, locks the appointment it changes, records history and a
modification row, and emits an ``askpro.hooks`` event after commit (Cal.com push and
notifications listen to those). ``actor`` says who acted: ``admin:<user id>``,
``phone:<call id>``, ``api:<key prefix>``, ``calcom``.

Booking, rescheduling and series lock the calendars of the staff they write (``appointments.locking``:
advisory locks per staff member, fixed order; an "any staff" booking only those of the slot it
takes, never the whole branch), check availability again under the lock and insert, so
conflicting requests queue instead of deadlocking. Double booking
is still refused by the database (exclusion constraint ``no_double_booking`` on
``AppointmentSegment``) as the last guard; a residual deadlock is retried once. All end in
:class:`SlotUnavailable` with the next free alternatives.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments import locking, policies
from appointments.availability import (
    AvailabilityContext,
    BookingPlan,
    SegmentRequest,
    Slot,
    SlotSegment,
    plan_for,
)
from appointments.errors import (
    AppointmentNotFound,
    InvalidBookingRequest,
    InvalidTransition,
    PolicyViolation,
    SlotUnavailable,
    StaleAppointment,
    UnknownReference,
)
from appointments.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    AppointmentStatusChanged,
)
from appointments.models import (
    Appointment,
    AppointmentModification,
    AppointmentSegment,
    Branch,
    Customer,
    CustomerBookingStats,
    PolicyConfiguration,
    RecurringSeries,
    Staff,
)
from appointments.queries import active_service, alternatives, find_slots
from askpro.errors import DomainError
from askpro.hooks import emit

__all__ = [
    "book_appointment",
    "cancel_appointment",
    "create_series",
    "find_slots",
    "reschedule_appointment",
    "transition_appointment",
]

logger = logging.getLogger(__name__)

Status = Appointment.Status

TRANSITIONS: dict[str, set[str]] = {
    Status.PENDING: {Status.CONFIRMED, Status.CANCELLED},
    Status.CONFIRMED: {Status.IN_PROGRESS, Status.CANCELLED, Status.NO_SHOW},
    Status.IN_PROGRESS: {Status.COMPLETED},
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
    Status.NO_SHOW: set(),
}
CHANGEABLE = {Status.PENDING, Status.CONFIRMED}


@dataclass(frozen=True)
class RescheduleResult:
    appointment: Appointment
    previous_starts_at: datetime
    policy: policies.PolicyDecision


@dataclass(frozen=True)
class CancellationResult:
    appointment: Appointment
    policy: policies.PolicyDecision


@dataclass
class SeriesConflict:
    starts_at: datetime
    code: str
    message: str
    alternatives: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "starts_at": self.starts_at.isoformat(),
            "code": self.code,
            "message": self.message,
            "alternatives": self.alternatives,
        }


@dataclass(frozen=True)
class SeriesResult:
    series: RecurringSeries
    appointments: list[Appointment]
    conflicts: list[SeriesConflict]
    policy: policies.PolicyDecision


# --- helpers --------------------------------------------------------------------------------


def _aware(value: datetime, name: str) -> datetime:
    if timezone.is_naive(value):
        raise InvalidBookingRequest(_("Times must include a time zone."), details={"field": name})
    return value


def _check_source(source: str) -> None:
    if source not in Appointment.Source.values:
        raise InvalidBookingRequest(_("Unknown booking source."), details={"source": source})


def _is_double_booking(exc: IntegrityError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "23P01" or "no_double_booking" in str(exc)


def _locked(appointment_id: int, expected_version: int | None) -> Appointment:
    appointment = (
        Appointment.objects.select_for_update().select_related("service", "customer").filter(pk=appointment_id).first()
    )
    if appointment is None:
        raise AppointmentNotFound(details={"appointment_id": appointment_id})
    if expected_version is not None and appointment.version != expected_version:
        raise StaleAppointment(details={"expected_version": expected_version, "version": appointment.version})
    return appointment


def _slot_unavailable(plan: BookingPlan, starts_at: datetime, staff_id: int | None, branch_id: int | None,
                      now: datetime | None, ignore_appointment_id: int | None = None) -> SlotUnavailable:
    found = alternatives(
        plan, after=starts_at, staff_id=staff_id, branch_id=branch_id, now=now,
        ignore_appointment_id=ignore_appointment_id,
    )
    return SlotUnavailable(
        details={
            "requested_starts_at": starts_at.isoformat(),
            "alternatives": [slot.as_alternative() for slot in found],
        }
    )


def _plan_of(appointment: Appointment) -> BookingPlan:
    """The plan an existing appointment was booked with (its service's, or its own segments')."""
    service = appointment.service
    segments = list(appointment.segments.order_by("position"))
    if service.segments.exists() or len(segments) <= 1:
        duration = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
        return plan_for(service, duration_minutes=None if service.segments.exists() else duration)
    sequence = [
        SegmentRequest(seg.service_id, int((seg.ends_at - seg.starts_at).total_seconds() // 60)) for seg in segments
    ]
    return plan_for(service, sequence=sequence)


def _assignment_finder(
    plan: BookingPlan,
    starts_at: datetime,
    *,
    staff_id: int | None,
    branch_id: int | None,
    now: datetime | None,
    ignore_appointment_id: int | None = None,
) -> locking.Finder:
    """``find(exclude, fresh)``: the assignment of a booking of ``plan`` at ``starts_at``, leaving
    out the staff in ``exclude``; ``fresh=False`` reuses the busy times the last search loaded (a
    candidate only, checked again under lock), ``fresh=True`` loads them again."""
    day = starts_at.astimezone(timezone.get_default_timezone()).date()
    epoch = int(starts_at.timestamp())
    contexts: list[AvailabilityContext] = []

    def find(exclude: frozenset[int], fresh: bool) -> Slot | None:
        if fresh or not contexts:
            contexts[:] = [AvailabilityContext(
                plan, date_from=day - timedelta(days=1), date_to=day + timedelta(days=1), staff_id=staff_id,
                branch_id=branch_id, now=now, ignore_appointment_id=ignore_appointment_id,
            )]
        context = contexts[0]
        for candidate_branch in sorted(context.branch_tz):
            slot = context.check(epoch, candidate_branch, staff_id=staff_id, exclude=exclude)
            if slot is not None:
                return slot
        return None

    return find


def _unchecked_assignment(plan: BookingPlan, starts_at: datetime, staff_id: int | None, branch_id: int | None) -> Slot:
    """Segments for a booking that skips availability rules (imports); the constraint still holds."""
    if staff_id is None:
        raise InvalidBookingRequest(_("A staff member is required."), details={"field": "staff_id"})
    if branch_id is None:
        branch_id = (
            Staff.branches.through.objects.filter(staff_id=staff_id).order_by("branch_id").values_list("branch_id", flat=True).first()
        )
        if branch_id is None:
            raise InvalidBookingRequest(_("A branch is required."), details={"field": "branch_id"})
    segments = tuple(
        SlotSegment(
            s.position, s.name, s.service_id, staff_id,
            starts_at + timedelta(seconds=s.offset), starts_at + timedelta(seconds=s.offset + s.duration),
        )
        for s in plan.segments
    )
    return Slot(starts_at, starts_at + timedelta(seconds=plan.total), branch_id, staff_id, (staff_id,), segments)


def _segment_rows(appointment: Appointment, plan: BookingPlan, slot: Slot) -> list[AppointmentSegment]:
    before, after = timedelta(seconds=plan.buffer_before), timedelta(seconds=plan.buffer_after)
    last = len(slot.segments) - 1
    return [
        AppointmentSegment(
            appointment=appointment,
            position=segment.position,
            name=segment.name,
            service_id=segment.service_id,
            staff_id=segment.staff_id,
            starts_at=segment.starts_at,
            ends_at=segment.ends_at,
            blocked_from=segment.starts_at - (before if segment.position == 0 else timedelta()),
            blocked_until=segment.ends_at + (after if segment.position == last else timedelta()),
            status=appointment.status,
        )
        for segment in slot.segments
    ]


def _record_modification(
    appointment: Appointment,
    *,
    kind: str,
    reason: str,
    actor: str,
    source: str,
    previous_starts_at: datetime,
    new_starts_at: datetime | None,
    decision: policies.PolicyDecision,
    now: datetime,
) -> AppointmentModification:
    modification = AppointmentModification.objects.create(
        appointment=appointment,
        customer_id=appointment.customer_id,
        kind=kind,
        reason=reason[:500],
        actor=actor,
        source=source,
        previous_starts_at=previous_starts_at,
        new_starts_at=new_starts_at,
        hours_notice=decision.hours_notice,
        policy_id=decision.policy_id,
        policy_violated=decision.violated,
        violation_action=decision.action,
        violations=list(decision.violations),
        fee_cents=decision.fee_cents,
        currency=appointment.currency,
        created_at=now,
    )
    is_cancel = kind == AppointmentModification.Kind.CANCELLATION
    CustomerBookingStats.objects.get_or_create(customer_id=appointment.customer_id)
    CustomerBookingStats.objects.filter(customer_id=appointment.customer_id).update(
        cancellation_count=F("cancellation_count") + (1 if is_cancel else 0),
        reschedule_count=F("reschedule_count") + (0 if is_cancel else 1),
        violation_count=F("violation_count") + (1 if decision.violated else 0),
        fees_cents=F("fees_cents") + decision.fee_cents,
        last_modification_at=now,
    )
    return modification


def _refuse_if_blocked(decision: policies.PolicyDecision, what: str) -> None:
    if decision.blocks:
        raise PolicyViolation(
            _("The %(policy)s policy does not allow this: %(rules)s.")
            % {"policy": what, "rules": ", ".join(decision.violations)},
            details={"policy_id": decision.policy_id, "violations": list(decision.violations),
                     "hours_notice": str(decision.hours_notice)},
        )


# --- booking --------------------------------------------------------------------------------


def _unavailable_after_retry(
    *, starts_at: datetime, service_id: int, sequence: Sequence[SegmentRequest] | None = None,
    duration_minutes: int | None = None, staff_id: int | None = None, branch_id: int | None = None,
    now: datetime | None = None, **_ignored: Any,
) -> SlotUnavailable:
    service = active_service(sequence[0].service_id if sequence else service_id)
    plan = plan_for(service, duration_minutes=duration_minutes, sequence=sequence)
    return _slot_unavailable(plan, starts_at, staff_id, branch_id, now)


@locking.retry_once(give_up=_unavailable_after_retry)
def book_appointment(
    *,
    customer_id: int,
    service_id: int,
    starts_at: datetime,
    source: str,
    actor: str,
    staff_id: int | None = None,
    branch_id: int | None = None,
    sequence: Sequence[SegmentRequest] | None = None,
    duration_minutes: int | None = None,
    notes: str = "",
    external_ref: str = "",
    status: str = Status.CONFIRMED,
    price_cents: int | None = None,
    check_availability: bool = True,
    now: datetime | None = None,
    _series_id: int | None = None,
    _held_staff: frozenset[int] = frozenset(),
    notify_customer: bool = True,
) -> Appointment:
    """Book a service for a customer at ``starts_at`` (with ``staff_id`` or any qualified staff
    member); raises SlotUnavailable (with alternatives) when the time is not free.
    ``check_availability=False`` skips working hours and notice (imports from Cal.com) but never
    the no-double-booking constraint. Locks only the calendars it writes (``appointments.locking``);
    ``_held_staff``: calendars the caller's transaction already holds (a series)."""
    _aware(starts_at, "starts_at")
    _check_source(source)
    if status not in CHANGEABLE:
        raise InvalidBookingRequest(_("New appointments are pending or confirmed."), details={"status": status})
    with transaction.atomic():
        service = active_service(sequence[0].service_id if sequence else service_id)
        if not Customer.objects.filter(pk=customer_id).exists():
            raise UnknownReference(_("Unknown customer."), details={"customer_id": customer_id})
        if branch_id is not None and not Branch.objects.filter(pk=branch_id, is_active=True).exists():
            raise UnknownReference(_("Unknown or inactive branch."), details={"branch_id": branch_id})
        plan = plan_for(service, duration_minutes=duration_minutes, sequence=sequence)
        if check_availability:
            slot = locking.assign_under_lock(
                _assignment_finder(plan, starts_at, staff_id=staff_id, branch_id=branch_id, now=now),
                staff_id=staff_id,
                candidates=len(locking.candidate_staff(plan, staff_id=staff_id, branch_id=branch_id)),
                held=_held_staff,
            )
            if slot is None:
                raise locking.CalendarTaken
        else:
            slot = _unchecked_assignment(plan, starts_at, staff_id, branch_id)
            locking.lock_staff(locking.staff_of(slot))
        appointment = Appointment(
            customer_id=customer_id,
            service=service,
            staff_id=slot.staff_id,
            branch_id=slot.branch_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            status=status,
            source=source,
            price_cents=plan.price_cents if price_cents is None else price_cents,
            currency=service.currency,
            notes=notes,
            external_ref=external_ref,
            series_id=_series_id,
        )
        appointment._change_reason = f"booked by {actor}"  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                appointment.save()
                AppointmentSegment.objects.bulk_create(_segment_rows(appointment, plan, slot))
        except IntegrityError as exc:
            if not _is_double_booking(exc):
                raise
            raise locking.CalendarTaken from None
        emit(AppointmentBooked(
            appointment_id=appointment.pk, source=source, actor=actor, series_id=_series_id,
            notify_customer=notify_customer,
        ))
    return appointment


def _unavailable_for_move(
    *, appointment_id: int, new_starts_at: datetime, staff_id: int | None = None, now: datetime | None = None,
    **_ignored: Any,
) -> SlotUnavailable:
    appointment = Appointment.objects.get(pk=appointment_id)
    plan = _plan_of(appointment)
    return _slot_unavailable(
        plan, new_starts_at, staff_id if staff_id is not None or plan.is_composite else appointment.staff_id,
        appointment.branch_id, now, appointment.pk,
    )


@locking.retry_once(give_up=_unavailable_for_move)
def reschedule_appointment(
    *,
    appointment_id: int,
    new_starts_at: datetime,
    source: str,
    actor: str,
    reason: str = "",
    staff_id: int | None = None,
    expected_version: int | None = None,
    check_availability: bool = True,
    now: datetime | None = None,
    notify_customer: bool = True,
) -> RescheduleResult:
    """Move a pending or confirmed appointment to ``new_starts_at`` (same staff member unless
    ``staff_id`` is given), subject to the reschedule policy; records the modification."""
    _aware(new_starts_at, "new_starts_at")
    _check_source(source)
    now = now or timezone.now()
    with transaction.atomic():
        appointment = _locked(appointment_id, expected_version)
        if appointment.status not in CHANGEABLE:
            raise InvalidTransition(
                _("Only pending or confirmed appointments can be moved."),
                details={"status": appointment.status},
            )
        policy = policies.effective_policy(
            PolicyConfiguration.PolicyType.RESCHEDULE,
            staff_id=appointment.staff_id, service_id=appointment.service_id, branch_id=appointment.branch_id,
        )
        hours = policies.hours_between(now, appointment.starts_at)
        violations = []
        if policy and policy["min_hours_notice"] is not None and hours < policy["min_hours_notice"]:
            violations.append("min_hours_notice")
        if (
            policy
            and policy["max_reschedules_per_booking"] is not None
            and appointment.reschedule_count >= policy["max_reschedules_per_booking"]
        ):
            violations.append("max_reschedules_per_booking")
        decision = policies.decide(policy, violations, hours)
        _refuse_if_blocked(decision, str(_("reschedule")))

        plan = _plan_of(appointment)
        if staff_id is None and not plan.is_composite:
            staff_id = appointment.staff_id
        if check_availability:
            slot = locking.assign_under_lock(
                _assignment_finder(
                    plan, new_starts_at, staff_id=staff_id, branch_id=appointment.branch_id, now=now,
                    ignore_appointment_id=appointment.pk,
                ),
                staff_id=staff_id,
                candidates=len(locking.candidate_staff(plan, staff_id=staff_id, branch_id=appointment.branch_id)),
            )
            if slot is None:
                raise locking.CalendarTaken
        else:
            slot = _unchecked_assignment(plan, new_starts_at, staff_id or appointment.staff_id, appointment.branch_id)
            locking.lock_staff(locking.staff_of(slot))

        previous_starts_at = appointment.starts_at
        appointment.starts_at, appointment.ends_at = slot.starts_at, slot.ends_at
        appointment.staff_id = slot.staff_id
        appointment.version += 1
        appointment.reschedule_count += 1
        appointment._change_reason = f"rescheduled by {actor}: {reason}"[:100]  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                appointment.segments.all().delete()
                AppointmentSegment.objects.bulk_create(_segment_rows(appointment, plan, slot))
                appointment.save()
        except IntegrityError as exc:
            if not _is_double_booking(exc):
                raise
            raise locking.CalendarTaken from None
        _record_modification(
            appointment, kind=AppointmentModification.Kind.RESCHEDULE, reason=reason, actor=actor, source=source,
            previous_starts_at=previous_starts_at, new_starts_at=appointment.starts_at, decision=decision, now=now,
        )
        emit(AppointmentRescheduled(
            appointment_id=appointment.pk, source=source, actor=actor,
            previous_starts_at=previous_starts_at.astimezone(UTC), notify_customer=notify_customer,
        ))
    return RescheduleResult(appointment, previous_starts_at, decision)


def _cancellation_decision(appointment: Appointment, now: datetime) -> policies.PolicyDecision:
    policy = policies.effective_policy(
        PolicyConfiguration.PolicyType.CANCELLATION,
        staff_id=appointment.staff_id, service_id=appointment.service_id, branch_id=appointment.branch_id,
    )
    hours = policies.hours_between(now, appointment.starts_at)
    violations = []
    if policy and policy["min_hours_notice"] is not None and hours < policy["min_hours_notice"]:
        violations.append("min_hours_notice")
    if policy and policy["max_free_cancellations_per_month"] is not None:
        local_now = timezone.localtime(now)
        month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        this_month = AppointmentModification.objects.filter(
            customer_id=appointment.customer_id,
            kind=AppointmentModification.Kind.CANCELLATION,
            created_at__gte=month_start,
        ).count()
        if this_month + 1 > policy["max_free_cancellations_per_month"]:
            violations.append("max_free_cancellations_per_month")
    return policies.decide(policy, violations, hours)


def preview_cancellation(appointment_id: int, *, now: datetime | None = None) -> policies.PolicyDecision:
    """What cancelling the appointment now would mean under the policy (free, fee, refused);
    changes nothing. Raises InvalidTransition when it cannot be cancelled at all."""
    appointment = Appointment.objects.filter(pk=appointment_id).first()
    if appointment is None:
        raise AppointmentNotFound(details={"appointment_id": appointment_id})
    if appointment.status not in CHANGEABLE:
        raise InvalidTransition(
            _("Only pending or confirmed appointments can be cancelled."), details={"status": appointment.status},
        )
    return _cancellation_decision(appointment, now or timezone.now())


def cancel_appointment(
    *,
    appointment_id: int,
    source: str,
    actor: str,
    reason: str = "",
    expected_version: int | None = None,
    notify_customer: bool = True,
    now: datetime | None = None,
) -> CancellationResult:
    """Cancel a pending or confirmed appointment under the cancellation policy (warn: allowed
    and recorded; charge_fee: allowed with the fee; block: PolicyViolation, nothing changes)."""
    _check_source(source)
    now = now or timezone.now()
    with transaction.atomic():
        appointment = _locked(appointment_id, expected_version)
        if appointment.status not in CHANGEABLE:
            raise InvalidTransition(
                _("Only pending or confirmed appointments can be cancelled."),
                details={"status": appointment.status},
            )
        decision = _cancellation_decision(appointment, now)
        _refuse_if_blocked(decision, str(_("cancellation")))
        previous_status = appointment.status
        appointment.status = Status.CANCELLED
        appointment.cancelled_at = now
        appointment.version += 1
        appointment._change_reason = f"cancelled by {actor}: {reason}"[:100]  # type: ignore[attr-defined]
        appointment.save()  # the segments follow by trigger and stop blocking the calendar
        _record_modification(
            appointment, kind=AppointmentModification.Kind.CANCELLATION, reason=reason, actor=actor, source=source,
            previous_starts_at=appointment.starts_at, new_starts_at=None, decision=decision, now=now,
        )
        emit(AppointmentCancelled(
            appointment_id=appointment.pk, source=source, actor=actor, previous_status=str(previous_status),
            notify_customer=notify_customer, fee_cents=int(decision.fee_cents or 0),
        ))
    return CancellationResult(appointment, decision)


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk change did, per appointment: the ones changed and the refused with why."""

    done: list[Appointment]
    refused: list[tuple[int, DomainError]]
    fees_cents: int = 0
    with_fee: int = 0


def cancel_appointments(appointment_ids: list[int], *, source: str, actor: str, reason: str = "") -> BulkOutcome:
    """Cancel each appointment on its own under its own cancellation policy; one refusal does not
    stop the others. Every cancellation is its own transaction (as a single cancel is)."""
    done: list[Appointment] = []
    refused: list[tuple[int, DomainError]] = []
    fees = with_fee = 0
    for appointment_id in appointment_ids:
        try:
            result = cancel_appointment(appointment_id=appointment_id, source=source, actor=actor, reason=reason)
        except DomainError as exc:
            refused.append((appointment_id, exc))
            continue
        done.append(result.appointment)
        if result.policy.fee_cents:
            fees += int(result.policy.fee_cents)
            with_fee += 1
    return BulkOutcome(done, refused, fees, with_fee)


def transition_appointments(appointment_ids: list[int], *, to_status: str, source: str, actor: str) -> BulkOutcome:
    """:func:`transition_appointment` for each appointment; refusals are collected, not raised."""
    done: list[Appointment] = []
    refused: list[tuple[int, DomainError]] = []
    for appointment_id in appointment_ids:
        try:
            done.append(transition_appointment(appointment_id=appointment_id, to_status=to_status, source=source,
                                               actor=actor))
        except DomainError as exc:
            refused.append((appointment_id, exc))
    return BulkOutcome(done, refused)


def transition_appointment(
    *,
    appointment_id: int,
    to_status: str,
    source: str,
    actor: str,
    reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move an appointment along pending -> confirmed -> in_progress -> completed (or no_show);
    illegal steps raise InvalidTransition. ``cancelled`` goes through :func:`cancel_appointment`."""
    _check_source(source)
    if to_status not in Status.values:
        raise InvalidTransition(details={"to_status": to_status})
    if to_status == Status.CANCELLED:
        return cancel_appointment(
            appointment_id=appointment_id, source=source, actor=actor, reason=reason,
            expected_version=expected_version, now=now,
        ).appointment
    now = now or timezone.now()
    with transaction.atomic():
        appointment = _locked(appointment_id, expected_version)
        previous = appointment.status
        if to_status not in TRANSITIONS[previous]:
            raise InvalidTransition(
                _("An appointment cannot go from %(from)s to %(to)s.")
                % {"from": Status(previous).label, "to": Status(to_status).label},
                details={"from": previous, "to": to_status, "allowed": sorted(TRANSITIONS[previous])},
            )
        if to_status == Status.NO_SHOW and now < appointment.starts_at:
            raise InvalidTransition(
                _("A no-show can only be recorded once the appointment has started."),
                details={"from": previous, "to": to_status},
            )
        appointment.status = to_status
        appointment.version += 1
        appointment._change_reason = f"{to_status} by {actor}"  # type: ignore[attr-defined]
        appointment.save()
        emit(AppointmentStatusChanged(
            appointment_id=appointment.pk, source=source, actor=actor, previous_status=str(previous),
            status=str(to_status),
        ))
    return appointment


# --- recurring series -----------------------------------------------------------------------

MAX_SERIES_LENGTH = 104


def _occurrences(first: datetime, tz: Any, frequency: str, count: int | None, until: Any) -> list[datetime]:
    local_first = first.astimezone(tz)
    step = {
        RecurringSeries.Frequency.WEEKLY: relativedelta(weeks=1),
        RecurringSeries.Frequency.BIWEEKLY: relativedelta(weeks=2),
        RecurringSeries.Frequency.MONTHLY: relativedelta(months=1),
    }[RecurringSeries.Frequency(frequency)]
    found: list[datetime] = []
    index = 0
    while len(found) < MAX_SERIES_LENGTH + 1:
        # Step from the first occurrence (not the previous one): 31 Jan + 2 months is 31 Mar.
        wall = (local_first.replace(tzinfo=None) + step * index)
        occurrence = wall.replace(tzinfo=tz)  # keeps the wall-clock time across DST changes
        if until is not None and occurrence.date() > until:
            break
        found.append(occurrence)
        index += 1
        if count is not None and len(found) >= count:
            break
    return found


def _unavailable_for_series(
    *, service_id: int, first_starts_at: datetime, staff_id: int | None = None, branch_id: int | None = None,
    now: datetime | None = None, **_ignored: Any,
) -> SlotUnavailable:
    return _slot_unavailable(plan_for(active_service(service_id)), first_starts_at, staff_id, branch_id, now)


@locking.retry_once(give_up=_unavailable_for_series)
def create_series(
    *,
    customer_id: int,
    service_id: int,
    first_starts_at: datetime,
    frequency: str,
    source: str,
    actor: str,
    staff_id: int | None = None,
    branch_id: int | None = None,
    count: int | None = None,
    until: Any = None,
    notes: str = "",
    now: datetime | None = None,
) -> SeriesResult:
    """Book every occurrence of a weekly/biweekly/monthly rule that is free (same staff member
    and wall-clock time); the others are reported as conflicts with alternatives."""
    _aware(first_starts_at, "first_starts_at")
    _check_source(source)
    if frequency not in RecurringSeries.Frequency.values:
        raise InvalidBookingRequest(_("Unknown frequency."), details={"frequency": frequency})
    if count is None and until is None:
        raise InvalidBookingRequest(_("Give a number of appointments or an end date."), details={"field": "count"})
    if count is not None and not 1 <= count <= MAX_SERIES_LENGTH:
        raise InvalidBookingRequest(
            _("A series has 1 to %(max)s appointments.") % {"max": MAX_SERIES_LENGTH}, details={"count": count}
        )
    service = active_service(service_id)
    with transaction.atomic():
        # The first occurrence fixes staff and branch for the whole series.
        plan = plan_for(service)
        first = locking.assign_under_lock(
            _assignment_finder(plan, first_starts_at, staff_id=staff_id, branch_id=branch_id, now=now),
            staff_id=staff_id,
            candidates=len(locking.candidate_staff(plan, staff_id=staff_id, branch_id=branch_id)),
        )
        if first is None:
            raise locking.CalendarTaken
        branch = Branch.objects.get(pk=first.branch_id)
        staff_id = first.staff_id
        occurrences = _occurrences(first_starts_at, branch.tzinfo, frequency, count, until)
        if len(occurrences) > MAX_SERIES_LENGTH:
            raise InvalidBookingRequest(
                _("A series has 1 to %(max)s appointments.") % {"max": MAX_SERIES_LENGTH},
                details={"count": len(occurrences)},
            )
        policy = policies.effective_policy(
            PolicyConfiguration.PolicyType.RECURRING, staff_id=staff_id, service_id=service.pk, branch_id=branch.pk,
        )
        violations = []
        if policy and policy["min_series_length"] is not None and len(occurrences) < policy["min_series_length"]:
            violations.append("min_series_length")
        if policy and policy["max_series_length"] is not None and len(occurrences) > policy["max_series_length"]:
            violations.append("max_series_length")
        decision = policies.decide(policy, violations, policies.hours_between(now or timezone.now(), first_starts_at))
        _refuse_if_blocked(decision, str(_("recurring")))

        series = RecurringSeries.objects.create(
            customer_id=customer_id, service=service, staff_id=staff_id, branch=branch, frequency=frequency,
            first_starts_at=first_starts_at, count=count, until=until, source=source, created_by=actor,
        )
        booked: list[Appointment] = []
        conflicts: list[SeriesConflict] = []
        for occurrence in occurrences:
            try:
                with transaction.atomic():
                    booked.append(
                        book_appointment(
                            customer_id=customer_id, service_id=service.pk, starts_at=occurrence, source=source,
                            actor=actor, staff_id=staff_id, branch_id=branch.pk, notes=notes, now=now,
                            _series_id=series.pk, _held_staff=frozenset(locking.staff_of(first)),
                        )
                    )
            except SlotUnavailable as exc:
                conflicts.append(
                    SeriesConflict(occurrence, exc.code, str(exc.message), exc.details.get("alternatives", []))
                )
        series.conflicts = [conflict.as_dict() for conflict in conflicts]
        series.save(update_fields=["conflicts", "updated_at"])
    return SeriesResult(series, booked, conflicts, decision)
