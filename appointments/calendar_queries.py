"""Reads behind the back office's day calendar: staff columns, appointments, working hours and
absences of one branch for a date range, as plain JSON-ready dicts.

Times go out as the branch's local wall-clock time without an offset (``2026-12-04T09:30:00``)
and come back the same way; the calendar shows them as they are, so the browser's own time zone
never matters. :func:`parse_wall` turns such a string back into an aware moment.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext as _

from appointments.access import visible_branches
from appointments.errors import InvalidBookingRequest
from appointments.models import (
    Appointment,
    AvailabilityOverride,
    Branch,
    Staff,
    WorkingHour,
)

Status = Appointment.Status
WALL_FORMAT = "%Y-%m-%dT%H:%M:%S"
MAX_RANGE_DAYS = 42
# Statuses whose appointment can still be dragged to another time (appointments.services.CHANGEABLE).
MOVABLE = (Status.PENDING, Status.CONFIRMED)
# Next status actions the side panel offers (the service decides whether a step is legal).
STATUS_ACTIONS: dict[str, tuple[str, ...]] = {
    Status.PENDING: (Status.CONFIRMED, Status.CANCELLED),
    Status.CONFIRMED: (Status.IN_PROGRESS, Status.NO_SHOW, Status.CANCELLED),
    Status.IN_PROGRESS: (Status.COMPLETED,),
}


@dataclass(frozen=True)
class CalendarRange:
    branch: Branch
    date_from: date  # first local day shown
    date_to: date  # first local day no longer shown (exclusive)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return self.branch.tzinfo

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.date_from, time(), tzinfo=self.tz)

    @property
    def ends(self) -> datetime:
        return datetime.combine(self.date_to, time(), tzinfo=self.tz)


def wall(moment: datetime, tz: zoneinfo.ZoneInfo) -> str:
    return moment.astimezone(tz).strftime(WALL_FORMAT)


def parse_wall(text: str, tz: zoneinfo.ZoneInfo, *, field: str = "start") -> datetime:
    """A local wall time (``2026-12-04T09:30`` or with seconds) → the aware moment in ``tz``."""
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        raise InvalidBookingRequest(_("The time is not valid."), details={field: text}) from None
    if value.tzinfo is not None:
        return value
    return value.replace(tzinfo=tz)


def parse_day(text: str | None, *, field: str) -> date:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise InvalidBookingRequest(_("The date is not valid."), details={field: text}) from None


def calendar_branches(user: Any) -> list[Branch]:
    """The active branches the login may see (appointments.access)."""
    return list(visible_branches(user).filter(is_active=True).order_by("name"))


def branch_for_calendar(branch_id: int | str | None, user: Any) -> Branch:
    """The requested active branch the login may see, or the first one (by name)."""
    branches = visible_branches(user).filter(is_active=True)
    if branch_id not in (None, ""):
        try:
            branch = branches.filter(pk=int(branch_id)).first()  # type: ignore[arg-type]
        except (TypeError, ValueError):
            branch = None
        if branch is None:
            raise InvalidBookingRequest(_("Unknown or inactive branch."), details={"branch": branch_id})
        return branch
    branch = branches.order_by("name").first()
    if branch is None:
        raise InvalidBookingRequest(_("There is no active branch yet."), details={"branch": None})
    return branch


def calendar_range(branch: Branch, start: str | None, end: str | None) -> CalendarRange:
    date_from = parse_day(start, field="start")
    date_to = parse_day(end, field="end") if end else date_from + timedelta(days=1)
    if date_to <= date_from or (date_to - date_from).days > MAX_RANGE_DAYS:
        raise InvalidBookingRequest(
            _("Show at most %(days)s days at a time.") % {"days": MAX_RANGE_DAYS},
            details={"start": str(start), "end": str(end)},
        )
    return CalendarRange(branch, date_from, date_to)


def branch_staff(branch: Branch, staff_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The branch's active staff as calendar columns, with the services each performs."""
    qs = Staff.objects.filter(is_active=True, branches=branch).order_by("name")
    if staff_ids:
        qs = qs.filter(pk__in=staff_ids)
    rows = list(qs.values("id", "name"))
    services: dict[int, list[int]] = defaultdict(list)
    for staff_id, service_id in Staff.services.through.objects.filter(
        staff_id__in=[row["id"] for row in rows], service__is_active=True,
    ).values_list("staff_id", "service_id"):
        services[staff_id].append(service_id)
    return [{"id": row["id"], "title": row["name"], "service_ids": sorted(services[row["id"]])} for row in rows]


# Wall-clock strings and the joined names come straight from PostgreSQL: converting a thousand
# aware datetimes in Python costs more than the query itself.
_EVENTS_SQL = f"""
SELECT a.id, a.staff_id,
       to_char(a.starts_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD"T"HH24:MI:SS'),
       to_char(a.ends_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD"T"HH24:MI:SS'),
       a.status, a.source, a.version, c.name, c.phone, s.name, a.service_id
FROM {Appointment._meta.db_table} a
JOIN {Appointment.customer.field.related_model._meta.db_table} c ON c.id = a.customer_id
JOIN {Appointment.service.field.related_model._meta.db_table} s ON s.id = a.service_id
WHERE a.branch_id = %(branch)s AND a.staff_id = ANY(%(staff)s)
  AND a.starts_at < %(ends)s AND a.ends_at > %(starts)s
  AND (%(cancelled)s OR a.status <> 'cancelled')
ORDER BY a.starts_at, a.id
"""  # noqa: S608 (table names are constants, values are bound)


def _appointment_events(scope: CalendarRange, staff_ids: list[int], include_cancelled: bool) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(_EVENTS_SQL, {
            "tz": scope.branch.time_zone, "branch": scope.branch.pk, "staff": staff_ids,
            "starts": scope.starts, "ends": scope.ends, "cancelled": include_cancelled,
        })
        rows = cursor.fetchall()
    movable = set(MOVABLE)
    return [{
        "id": str(pk),
        "resourceIds": [staff_id],
        "start": start,
        "end": end,
        "title": customer or phone or "–",
        "classNames": [f"ap-status-{status}"],
        "startEditable": status in movable,
        "durationEditable": False,
        "extendedProps": {
            "kind": "appointment", "status": status, "service": service, "service_id": service_id,
            "source": source, "version": version, "phone": phone,
        },
    } for pk, staff_id, start, end, status, source, version, customer, phone, service, service_id in rows]


def _background_events(scope: CalendarRange, staff_ids: list[int]) -> list[dict[str, Any]]:
    """Working hours (light), breaks and absences/closures (hatched) as background events."""
    hours: dict[tuple[int, int], list[WorkingHour]] = defaultdict(list)
    for wh in WorkingHour.objects.filter(branch=scope.branch, staff_id__in=staff_ids):
        hours[(wh.staff_id, wh.weekday)].append(wh)
    overrides = list(
        AvailabilityOverride.objects.filter(
            date_from__lt=scope.date_to, date_until__gte=scope.date_from,
        ).filter(
            Q(staff_id__in=staff_ids, branch__isnull=True) | Q(staff_id__in=staff_ids, branch=scope.branch)
            | Q(staff__isnull=True, branch=scope.branch)
        )
    )
    events: list[dict[str, Any]] = []

    def add(kind: str, day: date, start: time, end: time, resources: list[int], title: str = "") -> None:
        events.append({
            "id": f"{kind}-{len(events)}",
            "start": f"{day.isoformat()}T{start:%H:%M:%S}",
            "end": f"{day.isoformat()}T{end:%H:%M:%S}" if end != time.max else f"{(day + timedelta(days=1)).isoformat()}T00:00:00",
            "display": "background", "resourceIds": resources, "title": title,
            "classNames": [f"ap-bg-{kind}"], "extendedProps": {"kind": kind},
        })

    day = scope.date_from
    while day < scope.date_to:
        for staff_id in staff_ids:
            for wh in hours.get((staff_id, day.weekday()), []):
                if wh.break_start and wh.break_end:
                    add("hours", day, wh.start_time, wh.break_start, [staff_id])
                    add("hours", day, wh.break_end, wh.end_time, [staff_id])
                else:
                    add("hours", day, wh.start_time, wh.end_time, [staff_id])
        for override in overrides:
            if not override.date_from <= day <= override.date_until:
                continue
            targets = [override.staff_id] if override.staff_id else list(staff_ids)
            start = override.start_time or time()
            end = override.end_time or time.max
            if override.kind == AvailabilityOverride.Kind.EXTRA_HOURS:
                add("hours", day, start, end, targets)
            else:
                label = override.reason or str(AvailabilityOverride.Kind(override.kind).label)
                add("absence", day, start, end, targets, label)
        day += timedelta(days=1)
    return events


def change_token(branch: Branch) -> str:
    """Changes whenever an appointment of the branch is added or changed (poll target)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), max(updated_at) FROM {Appointment._meta.db_table} WHERE branch_id = %s",  # noqa: S608
            [branch.pk],
        )
        count, latest = cursor.fetchone()
    return f"{count}:{latest.timestamp() if latest else 0}"


def calendar_feed(scope: CalendarRange, *, staff_ids: list[int] | None = None,
                  include_cancelled: bool = False) -> dict[str, Any]:
    """Everything the calendar shows for one branch and date range."""
    resources = branch_staff(scope.branch, staff_ids)
    ids = [row["id"] for row in resources]
    return {
        "branch": {"id": scope.branch.pk, "name": scope.branch.name, "time_zone": scope.branch.time_zone},
        "start": scope.date_from.isoformat(),
        "end": scope.date_to.isoformat(),
        "resources": resources,
        "events": _appointment_events(scope, ids, include_cancelled) + _background_events(scope, ids),
        "token": change_token(scope.branch),
    }


def appointment_detail(appointment: Appointment) -> dict[str, Any]:
    """The side panel of one appointment: who, what, when (branch time), status actions, origin."""
    from askpro.display import euros, local_date, local_time, long_date

    tz = appointment.branch.tzinfo
    customer = appointment.customer
    call = appointment.calls.order_by("-started_at").values("id", "call_id", "started_at", "from_number").first() \
        if hasattr(appointment, "calls") else None
    sync = None
    try:
        booking_sync = appointment.calcom_sync  # type: ignore[attr-defined]
    except Exception:  # no Cal.com link (RelatedObjectDoesNotExist) or the app is absent
        booking_sync = None
    if booking_sync is not None:
        sync = {"state": booking_sync.state, "label": str(booking_sync.get_state_display()),
                "error": booking_sync.last_error[:200]}
    return {
        "id": appointment.pk,
        "version": appointment.version,
        "status": appointment.status,
        "status_label": str(Status(appointment.status).label),
        "actions": [{"status": s, "label": str(Status(s).label)} for s in STATUS_ACTIONS.get(appointment.status, ())],
        "movable": appointment.status in MOVABLE,
        "start": wall(appointment.starts_at, tz),
        "end": wall(appointment.ends_at, tz),
        "when": f"{long_date(appointment.starts_at, tz)}, {local_time(appointment.starts_at, tz)}–"
                f"{local_time(appointment.ends_at, tz)}",
        "date": local_date(appointment.starts_at, tz),
        "customer": {
            "id": customer.pk, "name": customer.name, "phone": customer.phone, "email": customer.email,
            "journey": str(customer.get_journey_status_display()),
        },
        "service": appointment.service.name,
        "staff": {"id": appointment.staff_id, "name": appointment.staff.name},
        "branch": {"id": appointment.branch_id, "name": appointment.branch.name},
        "price": euros(appointment.price_cents, currency=appointment.currency),
        "source": str(Appointment.Source(appointment.source).label),
        "notes": appointment.notes,
        "reschedule_count": appointment.reschedule_count,
        "call": call and {"id": call["id"], "call_id": call["call_id"], "from_number": call["from_number"],
                          "started": local_time(call["started_at"], tz) if call["started_at"] else ""},
        "calcom": sync,
    }
