"""Reads of the booking domain: free slots, alternatives, booking lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, prefetch_related_objects
from django.utils.translation import gettext as _

from appointments import schedule_snapshot as schedules
from appointments.availability import (
    AvailabilityContext,
    BookingPlan,
    SegmentRequest,
    Slot,
    plan_for,
)
from appointments.errors import InvalidBookingRequest, UnknownReference
from appointments.models import Appointment, AvailabilityOverride, Service, ServiceSegment

MAX_SEARCH_DAYS = 62


def active_service(service_id: int) -> Service:
    """The active service with its composite segments loaded (one query for simple services)."""
    service = (
        Service.objects.filter(pk=service_id, is_active=True)
        .annotate(is_composite=Exists(ServiceSegment.objects.filter(service=OuterRef("pk"))))
        .first()
    )
    if service is None:
        raise UnknownReference(_("Unknown or inactive service."), details={"service_id": service_id})
    if not service.is_composite:
        prefetch_related_objects([service], Prefetch("segments", queryset=ServiceSegment.objects.none()))
    else:
        prefetch_related_objects([service], "segments")
    return service


def find_slots(
    *,
    service_id: int,
    date_from: date,
    date_to: date | None = None,
    staff_id: int | None = None,
    branch_id: int | None = None,
    duration_minutes: int | None = None,
    sequence: Sequence[SegmentRequest] | None = None,
    now: datetime | None = None,
    ignore_appointment_id: int | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Free start times for a service (or an ad-hoc ``sequence`` of services) between two local
    dates inclusive, for one staff member or any qualified one, at one branch or all."""
    date_to = date_to or date_from
    if date_to < date_from or (date_to - date_from).days >= MAX_SEARCH_DAYS:
        raise InvalidBookingRequest(
            _("Search at most %(days)s days at a time.") % {"days": MAX_SEARCH_DAYS},
            details={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
        )
    search: dict[str, Any] = {"date_from": date_from, "date_to": date_to, "staff_id": staff_id, "branch_id": branch_id,
              "now": now, "ignore_appointment_id": ignore_appointment_id}
    if sequence:
        plan = plan_for(active_service(sequence[0].service_id), duration_minutes=duration_minutes, sequence=sequence)
        context = AvailabilityContext(plan, **search)
    else:
        context = _context_from_snapshot(service_id, duration_minutes, search)
    slots = context.slots(staff_id=staff_id)
    return slots[:limit] if limit is not None else slots


def _context_from_snapshot(service_id: int, duration_minutes: int | None, search: dict[str, Any]) -> AvailabilityContext:
    """The service comes from this process's schedule snapshot; the context checks that snapshot
    against the database and, if the schedule changed meanwhile, the service is planned again."""
    current = schedules.snapshot()
    for _attempt in range(3):
        known = current.services.get(service_id)
        if known is None:
            current = schedules.reload()
            known = current.services.get(service_id)
            if known is None:
                raise UnknownReference(_("Unknown or inactive service."), details={"service_id": service_id})
        context = AvailabilityContext(plan_for(known, duration_minutes=duration_minutes), schedule=current, **search)
        if context.schedule is current:
            break
        current = context.schedule
    return context


def slots_for_plan(
    plan: BookingPlan,
    *,
    date_from: date,
    date_to: date,
    staff_id: int | None = None,
    branch_id: int | None = None,
    now: datetime | None = None,
    ignore_appointment_id: int | None = None,
) -> list[Slot]:
    context = AvailabilityContext(
        plan, date_from=date_from, date_to=date_to, staff_id=staff_id, branch_id=branch_id,
        now=now, ignore_appointment_id=ignore_appointment_id,
    )
    return context.slots(staff_id=staff_id)


def alternatives(
    plan: BookingPlan,
    *,
    after: datetime,
    staff_id: int | None,
    branch_id: int | None,
    now: datetime | None = None,
    ignore_appointment_id: int | None = None,
    count: int = 3,
    days: int = 14,
) -> list[Slot]:
    """The next ``count`` free slots from ``after`` on (same staff/branch if given)."""
    start_day = after.date() - timedelta(days=1)
    slots = slots_for_plan(
        plan, date_from=start_day, date_to=start_day + timedelta(days=days), staff_id=staff_id,
        branch_id=branch_id, now=now, ignore_appointment_id=ignore_appointment_id,
    )
    return [slot for slot in slots if slot.starts_at >= after][:count]


def bookings(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    status: str | None = None,
    staff_id: int | None = None,
    branch_id: int | None = None,
    customer_id: int | None = None,
    source: str | None = None,
) -> QuerySet[Appointment]:
    """Appointments by filters (dates are local dates of the default time zone), newest first."""
    qs = Appointment.objects.select_related("customer", "service", "staff", "branch").prefetch_related("segments")
    if date_from:
        qs = qs.filter(starts_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(starts_at__date__lte=date_to)
    if status:
        qs = qs.filter(status=status)
    if staff_id:
        qs = qs.filter(staff_id=staff_id)
    if branch_id:
        qs = qs.filter(branch_id=branch_id)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if source:
        qs = qs.filter(source=source)
    return qs.order_by("starts_at", "id")


@dataclass(frozen=True)
class Closure:
    """A day the business is closed: a public holiday (its name) or simply no opening hours."""

    holiday: str = ""


def closure_on(day: date, *, branch_ids: Iterable[int] | None = None) -> Closure | None:
    """Whether ``day`` is closed at every branch in scope (all active ones by default): a public
    holiday, a branch-wide closure, or nobody's working day, and no extra hours. None when open
    somewhere. Reads this process's schedule snapshot (the slot search just refreshed it)."""
    current = schedules.snapshot()
    wanted = list(current.branch_tz) if branch_ids is None else [bid for bid in branch_ids if bid in current.branch_tz]
    if not wanted:
        return None
    names: list[str] = []
    for bid in wanted:
        todays = [o for o in current.overrides if o[1] == bid and o[3] <= day <= o[4]]
        if any(o[2] == AvailabilityOverride.Kind.EXTRA_HOURS for o in todays):
            return None
        holiday = current.holidays(bid, day, day).get(day)
        if holiday:
            names.append(holiday)
            continue
        if any(o[0] is None and o[5] is None for o in todays):
            continue  # closed all day by the business
        if any((bid, day.weekday()) in staff.hours for staff in current.staff.values() if bid in staff.branch_ids):
            return None
    return Closure(holiday=names[0] if names else "")
