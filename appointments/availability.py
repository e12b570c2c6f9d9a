"""The availability engine: which start times are free, for whom, at which branch.

All data a search needs is loaded up front in a handful of queries (qualified staff, their
branches, weekly hours, date overrides, busy segments); the rest is arithmetic over integer
UTC epoch seconds. Wall-clock rules (working hours, breaks, overrides, slot grid) are evaluated
in each branch's time zone, so daylight-saving days have the right slots.

A busy segment blocks ``[blocked_from, blocked_until)`` (its buffers included); a new booking
blocks ``[start - buffer_before, end + buffer_after)``. Buffers of both sides stack, as in
Cal.com. Only the appointment itself must lie inside working hours; buffers may reach outside.
"""

from __future__ import annotations

import bisect
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments import schedule_snapshot as schedules
from appointments.errors import UnknownReference
from appointments.models import (
    RELEASED_STATUSES,
    AppointmentSegment,
    AvailabilityOverride,
    Service,
)

Window = tuple[int, int]  # [start, end) in UTC epoch seconds

# The schedule token and the busy times of some staff, in one round trip. Unsorted (sorting per
# staff member in Python is cheaper than three sorts in the aggregates); date_part gives a double,
# which converts much faster than EXTRACT's numeric.
_BUSY_SQL = f"""
SELECT ({schedules.TOKEN_SQL}), array_agg(staff_id), array_agg(f), array_agg(u)
FROM (
    SELECT staff_id, date_part('epoch', blocked_from)::bigint AS f, date_part('epoch', blocked_until)::bigint AS u
    FROM {AppointmentSegment._meta.db_table}
    WHERE staff_id = ANY(%s) AND blocked_until > %s AND blocked_from < %s
      AND status <> ALL(%s) AND appointment_id IS DISTINCT FROM %s
) AS busy
"""  # noqa: S608 (table names are constants, values are bound)


def _busy_times(
    staff_ids: list[int], date_from: date, date_to: date, ignore_appointment_id: int | None
) -> tuple[str, tuple[list[int], list[int], list[int]]]:
    """The current schedule token, and (staff ids, blocked from, blocked until) of the busy segments."""
    pad = timedelta(days=1)  # more than any buffer and any UTC offset
    range_from = datetime.combine(date_from, time(), tzinfo=UTC) - pad
    range_to = datetime.combine(date_to, time(), tzinfo=UTC) + pad
    with connection.cursor() as cursor:
        cursor.execute(_BUSY_SQL, [staff_ids, range_from, range_to, list(RELEASED_STATUSES), ignore_appointment_id])
        token, staff, starts, ends = cursor.fetchone()
    return token or "", (staff or [], starts or [], ends or [])


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


@dataclass(frozen=True)
class SegmentRequest:
    """One service of an ad-hoc sequence (the composite availability API)."""

    service_id: int
    duration_minutes: int | None = None


@dataclass(frozen=True)
class PlannedSegment:
    position: int
    name: str
    service_id: int
    qualification_id: int  # staff who perform this service may do the segment
    offset: int  # seconds from the appointment's start
    duration: int  # seconds


@dataclass(frozen=True)
class BookingPlan:
    """What a booking of a service occupies: its segments, buffers and booking rules."""

    service: Service
    segments: tuple[PlannedSegment, ...]
    buffer_before: int
    buffer_after: int
    total: int  # seconds from the first segment's start to the last one's end
    min_notice: int
    max_advance_days: int
    interval: int
    price_cents: int

    @property
    def is_composite(self) -> bool:
        return len(self.segments) > 1

    @property
    def qualification_ids(self) -> set[int]:
        return {segment.qualification_id for segment in self.segments}


@dataclass(frozen=True)
class SlotSegment:
    position: int
    name: str
    service_id: int
    staff_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Slot:
    """A bookable start. ``staff_id`` is the proposal (least busy that day); ``staff_ids`` all
    staff free at this time. ``segments`` is filled for composite services only."""

    starts_at: datetime
    ends_at: datetime
    branch_id: int
    staff_id: int
    staff_ids: tuple[int, ...]
    segments: tuple[SlotSegment, ...] = ()
    tz: zoneinfo.ZoneInfo | None = field(default=None, compare=False)  # the branch's time zone

    def as_alternative(self) -> dict[str, object]:
        return {
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "staff_id": self.staff_id,
            "branch_id": self.branch_id,
        }


def plan_for(
    service: Service, *, duration_minutes: int | None = None, sequence: Sequence[SegmentRequest] | None = None
) -> BookingPlan:
    """The booking plan of ``service`` (its composite segments if it has any), or of an ad-hoc
    ``sequence`` of services booked back to back (then ``service`` is the first of them)."""
    minute = 60
    if sequence:
        services = {s.pk: s for s in Service.objects.filter(pk__in=[r.service_id for r in sequence], is_active=True)}
        missing = [r.service_id for r in sequence if r.service_id not in services]
        if missing:
            raise UnknownReference(_("Unknown or inactive service."), details={"service_ids": missing})
        segments = []
        offset = 0
        for position, request in enumerate(sequence):
            item = services[request.service_id]
            duration = (request.duration_minutes or item.duration_minutes) * minute
            segments.append(PlannedSegment(position, item.name, item.pk, item.pk, offset, duration))
            offset += duration
        first, last = services[sequence[0].service_id], services[sequence[-1].service_id]
        return BookingPlan(
            service=first,
            segments=tuple(segments),
            buffer_before=first.buffer_before_minutes * minute,
            buffer_after=last.buffer_after_minutes * minute,
            total=offset,
            min_notice=max(s.min_notice_minutes for s in services.values()) * minute,
            max_advance_days=min(s.max_advance_days for s in services.values()),
            interval=max(first.slot_interval_minutes, 5) * minute,
            price_cents=sum(services[r.service_id].price_cents for r in sequence),
        )
    rows = list(service.segments.all())
    if rows:
        segments, offset = [], 0
        for position, row in enumerate(rows):
            duration = row.duration_minutes * minute
            segments.append(
                PlannedSegment(position, row.name, service.pk, row.qualification_id or service.pk, offset, duration)
            )
            offset += duration + row.gap_after_minutes * minute
        total = offset - rows[-1].gap_after_minutes * minute
    else:
        total = (duration_minutes or service.duration_minutes) * minute
        segments = [PlannedSegment(0, service.name, service.pk, service.pk, 0, total)]
    return BookingPlan(
        service=service,
        segments=tuple(segments),
        buffer_before=service.buffer_before_minutes * minute,
        buffer_after=service.buffer_after_minutes * minute,
        total=total,
        min_notice=service.min_notice_minutes * minute,
        max_advance_days=service.max_advance_days,
        interval=max(service.slot_interval_minutes, 5) * minute,
        price_cents=service.price_cents,
    )


@dataclass
class _StaffData:
    staff_id: int
    qualifications: set[int] = field(default_factory=set)
    branch_ids: set[int] = field(default_factory=set)
    # (branch_id, weekday) -> ((start, end, break_start, break_end), ...), shared with the snapshot
    hours: dict[tuple[int, int], tuple[schedules.Hours, ...]] = field(default_factory=dict)
    busy_starts: list[int] = field(default_factory=list)
    busy_ends: list[int] = field(default_factory=list)


def _epoch(day: date, wall: time, tz: zoneinfo.ZoneInfo) -> int:
    return int(datetime.combine(day, wall, tzinfo=tz).timestamp())


def subtract_window(windows: list[Window], cut: Window) -> list[Window]:
    """``windows`` with ``cut`` removed (intervals as (start, end) numbers)."""
    out = []
    for start, end in windows:
        if cut[1] <= start or cut[0] >= end:
            out.append((start, end))
            continue
        if cut[0] > start:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def merge_windows(windows: Iterable[Window]) -> list[Window]:
    """Overlapping or touching intervals joined, sorted."""
    merged: list[list[int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


class AvailabilityContext:
    """Everything needed to answer availability questions for one plan over a date range."""

    def __init__(
        self,
        plan: BookingPlan,
        *,
        date_from: date,
        date_to: date,
        staff_id: int | None = None,
        branch_id: int | None = None,
        now: datetime | None = None,
        ignore_appointment_id: int | None = None,
        schedule: schedules.Schedule | None = None,
    ) -> None:
        self.plan = plan
        self.schedule = schedule or schedules.snapshot()
        self.date_from = date_from
        self.date_to = date_to
        self.now = int((now or timezone.now()).timestamp())
        self.staff: dict[int, _StaffData] = {}
        self.branch_tz: dict[int, zoneinfo.ZoneInfo] = {}
        self._load(staff_id, branch_id, ignore_appointment_id)
        self._window_cache: dict[tuple[int, int, date], list[Window]] = {}
        self._day_cache: dict[tuple[int, date], tuple[int, bool]] = {}
        self._mask_cache: dict[tuple[int, int, int], int] = {}

    # --- loading (one query when this process's schedule snapshot is current) ---------------

    def _load(self, staff_id: int | None, branch_id: int | None, ignore_appointment_id: int | None) -> None:
        current = self.schedule
        for _attempt in range(3):
            candidates = current.qualified_staff(self.plan.qualification_ids, staff_id=staff_id, branch_id=branch_id)
            token, busy = _busy_times(
                [data.staff_id for data in candidates], self.date_from, self.date_to, ignore_appointment_id
            )
            if token == current.token:
                break
            current = schedules.reload()  # someone changed the schedule: search with the new one
        self.schedule = current
        wanted = self.plan.qualification_ids
        for data in candidates:
            branch_ids = data.branch_ids if branch_id is None else data.branch_ids & {branch_id}
            self.staff[data.staff_id] = _StaffData(
                data.staff_id, set(data.qualifications & wanted), set(branch_ids), data.hours
            )
            for bid in branch_ids:
                self.branch_tz[bid] = current.branch_tz[bid]
        self.overrides = [
            override for override in current.overrides
            if override[3] <= self.date_to and override[4] >= self.date_from
            and (override[0] in self.staff or (override[0] is None and override[1] in self.branch_tz))
        ]
        per_staff: dict[int, list[Window]] = {}
        for sid, start, end in zip(*busy, strict=True):
            per_staff.setdefault(sid, []).append((start, end))
        for sid, blocks in per_staff.items():
            # Active segments of one staff member never overlap, so ends are sorted with starts.
            blocks.sort()
            busy_of = self.staff[sid]
            busy_of.busy_starts = [start for start, _end in blocks]
            busy_of.busy_ends = [end for _start, end in blocks]
        # The branches' public holidays in the range (per state and year computed once per process).
        self.holidays = {
            (bid, day) for bid in self.branch_tz for day in current.holidays(bid, self.date_from, self.date_to)
        }
        # Days that an override or a holiday touches take the slow path of windows(); the others
        # reuse one slot mask per staff member, branch and weekday.
        self._override_days = {
            day for override in self.overrides for day in self._days()
            if override[3] <= day <= override[4]
        } | {day for _bid, day in self.holidays}

    # --- wall-clock rules --------------------------------------------------------------------

    def windows(self, staff_id: int, branch_id: int, day: date) -> list[Window]:
        """Free working time of a staff member at a branch on a local date (before bookings)."""
        key = (staff_id, branch_id, day)
        cached = self._window_cache.get(key)
        if cached is not None:
            return cached
        tz = self.branch_tz[branch_id]
        data = self.staff[staff_id]
        midnight, regular = self.day_info(branch_id, day)

        def at(wall: time) -> int:
            return midnight + _seconds(wall) if regular else _epoch(day, wall, tz)

        windows: list[Window] = []
        # A public holiday closes the branch; only extra hours given for that day open it.
        holiday = (branch_id, day) in self.holidays
        for start, end, break_start, break_end in () if holiday else data.hours.get((branch_id, day.weekday()), ()):
            part = [(at(start), at(end))]
            if break_start and break_end:
                part = subtract_window(part, (at(break_start), at(break_end)))
            windows.extend(part)
        for o_staff, o_branch, kind, o_from, o_until, o_start, o_end in self.overrides:
            extra = kind == AvailabilityOverride.Kind.EXTRA_HOURS and o_staff == staff_id and o_branch == branch_id
            if extra and o_from <= day <= o_until and o_start and o_end:
                windows.append((at(o_start), at(o_end)))
        windows = merge_windows(windows)
        for o_staff, o_branch, kind, o_from, o_until, o_start, o_end in self.overrides:
            if kind == AvailabilityOverride.Kind.EXTRA_HOURS or not (o_from <= day <= o_until):
                continue
            applies = (o_staff == staff_id and o_branch in (None, branch_id)) or (
                o_staff is None and o_branch == branch_id
            )
            if not applies:
                continue
            if o_start is None or o_end is None:
                windows = []
                break
            windows = subtract_window(windows, (at(o_start), at(o_end)))
        self._window_cache[key] = windows
        return windows

    def day_info(self, branch_id: int, day: date) -> tuple[int, bool]:
        """Local midnight as epoch, and whether the day is a regular 24-hour day (no DST change)."""
        key = (branch_id, day)
        info = self._day_cache.get(key)
        if info is None:
            tz = self.branch_tz[branch_id]
            midnight = _epoch(day, time(), tz)
            info = (midnight, _epoch(day + timedelta(days=1), time(), tz) - midnight == 86400)
            self._day_cache[key] = info
        return info

    def _bounds(self, branch_id: int, day: date) -> tuple[int, int] | None:
        """Earliest and latest allowed start on ``day`` (minimum notice, maximum advance)."""
        tz = self.branch_tz[branch_id]
        today = datetime.fromtimestamp(self.now, tz).date()
        if day > today + timedelta(days=self.plan.max_advance_days) or day < today:
            return None
        return self.now + self.plan.min_notice, 2**62

    def _grid_start(self, branch_id: int, at: int) -> int:
        """The first slot-grid point at or after ``at``: a multiple of the interval after local midnight."""
        local = datetime.fromtimestamp(at, self.branch_tz[branch_id])
        wall = local.hour * 3600 + local.minute * 60 + local.second
        return at + (-wall % self.plan.interval)

    def _free(self, data: _StaffData, blocked_from: int, blocked_until: int) -> bool:
        index = bisect.bisect_right(data.busy_starts, blocked_from)
        if index and data.busy_ends[index - 1] > blocked_from:
            return False
        return not (index < len(data.busy_starts) and data.busy_starts[index] < blocked_until)

    def _days(self) -> Iterable[date]:
        day = self.date_from
        while day <= self.date_to:
            yield day
            day += timedelta(days=1)

    def _load_on(self, data: _StaffData, day_start: int) -> int:
        lo = bisect.bisect_left(data.busy_starts, day_start)
        hi = bisect.bisect_left(data.busy_starts, day_start + 86400)
        return hi - lo

    # --- simple services: a sweep over each window -------------------------------------------

    def _simple_starts(self, data: _StaffData, branch_id: int, day: date) -> list[int]:
        bounds = self._bounds(branch_id, day)
        if bounds is None:
            return []
        earliest = bounds[0]
        duration, before, after = self.plan.total, self.plan.buffer_before, self.plan.buffer_after
        interval = self.plan.interval
        starts, ends = data.busy_starts, data.busy_ends
        found = []
        for window_start, window_end in self.windows(data.staff_id, branch_id, day):
            last = window_end - duration
            start = self._grid_start(branch_id, max(window_start, earliest))
            j = bisect.bisect_right(ends, start - before)
            while start <= last:
                while j < len(starts) and ends[j] + before <= start:
                    j += 1
                if j < len(starts) and starts[j] - duration - after < start:
                    free_from = ends[j] + before
                    start += -(-(free_from - start) // interval) * interval
                    continue
                found.append(start)
                start += interval
        return found

    def _bitset_starts(self, data: _StaffData, branch_id: int, day: date, earliest: int) -> list[int]:
        """Like :meth:`_simple_starts`, for a regular day, with one bit per grid position."""
        midnight, _regular = self.day_info(branch_id, day)
        step, duration = self.plan.interval, self.plan.total
        before, after = self.plan.buffer_before, self.plan.buffer_after
        key = (data.staff_id, branch_id, day.weekday())
        mask = self._mask_cache.get(key)
        if mask is None or day in self._override_days:
            mask = 0
            for window_start, window_end in self.windows(data.staff_id, branch_id, day):
                lo = -(-(window_start - midnight) // step)
                hi = (window_end - duration - midnight) // step
                if hi >= lo:
                    mask |= ((1 << (hi - lo + 1)) - 1) << lo
            if day not in self._override_days:
                self._mask_cache[key] = mask  # on a regular day, relative to midnight: the same every week
        if not mask:
            return []
        first = -(-(earliest - midnight) // step)
        if first > 0:
            mask &= ~((1 << first) - 1)
        starts, ends = data.busy_starts, data.busy_ends
        index = bisect.bisect_right(ends, midnight - before)
        horizon = midnight + 86400 + duration + after
        while index < len(starts) and starts[index] < horizon and mask:
            # a start s is forbidden when s - before < busy end and busy start < s + duration + after
            lo = max((starts[index] - duration - after - midnight) // step + 1, 0)
            hi = -(-(ends[index] + before - midnight) // step) - 1
            if hi >= lo:
                mask &= ~(((1 << (hi - lo + 1)) - 1) << lo)
            index += 1
        found = []
        while mask:
            lowest = mask & -mask
            found.append(midnight + (lowest.bit_length() - 1) * step)
            mask ^= lowest
        return found

    def _simple_slots(self) -> list[Slot]:
        buckets: dict[tuple[int, int], list[int]] = {}
        for branch_id in sorted(self.branch_tz):
            here = [data for data in self.staff.values() if branch_id in data.branch_ids]
            for day in self._days():
                bounds = self._bounds(branch_id, day)
                if bounds is None:
                    continue
                midnight, regular = self.day_info(branch_id, day)
                # Staff in order of preference (least booked that day first), so buckets come out sorted.
                ordered = sorted(here, key=lambda data: (self._load_on(data, midnight), data.staff_id))
                for data in ordered:
                    if regular:
                        starts = self._bitset_starts(data, branch_id, day, bounds[0])
                    else:
                        starts = self._simple_starts(data, branch_id, day)
                    for start in starts:
                        bucket = buckets.get((start, branch_id))
                        if bucket is None:
                            buckets[(start, branch_id)] = [data.staff_id]
                        else:
                            bucket.append(data.staff_id)
        total = self.plan.total
        return [
            Slot(
                starts_at=datetime.fromtimestamp(start, UTC),
                ends_at=datetime.fromtimestamp(start + total, UTC),
                branch_id=branch_id,
                staff_id=staff_ids[0],
                staff_ids=tuple(staff_ids),
                tz=self.branch_tz[branch_id],
            )
            for (start, branch_id), staff_ids in sorted(buckets.items())
        ]

    # --- any plan: check one start, segment by segment ---------------------------------------

    def check(
        self, start: int, branch_id: int, *, staff_id: int | None = None, grid: bool = False,
        exclude: frozenset[int] = frozenset(),
    ) -> Slot | None:
        """The assignment of staff to segments if a booking can start at ``start``, else None.
        Staff in ``exclude`` are left out (someone else is booking their calendar right now)."""
        tz = self.branch_tz.get(branch_id)
        if tz is None:
            return None
        day = datetime.fromtimestamp(start, tz).date()
        bounds = self._bounds(branch_id, day)
        if bounds is None or start < bounds[0]:
            return None
        if grid and self._grid_start(branch_id, start) != start:
            return None
        segments = self.plan.segments
        day_start = _epoch(day, time(), tz)
        assigned: list[SlotSegment] = []
        free_first: list[int] = []
        previous: int | None = staff_id
        for segment in segments:
            seg_start = start + segment.offset
            seg_end = seg_start + segment.duration
            blocked_from = seg_start - (self.plan.buffer_before if segment.position == 0 else 0)
            blocked_until = seg_end + (self.plan.buffer_after if segment.position == len(segments) - 1 else 0)
            candidates = []
            for data in self.staff.values():
                if (staff_id is not None and data.staff_id != staff_id) or data.staff_id in exclude:
                    continue
                if segment.qualification_id not in data.qualifications or branch_id not in data.branch_ids:
                    continue
                if not any(ws <= seg_start and seg_end <= we for ws, we in self.windows(data.staff_id, branch_id, day)):
                    continue
                if not self._free(data, blocked_from, blocked_until):
                    continue
                # Prefer who did the previous step, then who can do most of the steps, then the least busy.
                skills = sum(1 for s in segments if s.qualification_id in data.qualifications)
                candidates.append((data.staff_id != previous, -skills, self._load_on(data, day_start), data.staff_id))
            if not candidates:
                return None
            candidates.sort()
            chosen = candidates[0][-1]
            if segment.position == 0:
                free_first = [candidate[-1] for candidate in candidates]
            previous = chosen
            assigned.append(
                SlotSegment(
                    segment.position,
                    segment.name,
                    segment.service_id,
                    chosen,
                    datetime.fromtimestamp(seg_start, UTC),
                    datetime.fromtimestamp(seg_end, UTC),
                )
            )
        return Slot(
            starts_at=datetime.fromtimestamp(start, UTC),
            ends_at=datetime.fromtimestamp(start + self.plan.total, UTC),
            branch_id=branch_id,
            staff_id=assigned[0].staff_id,
            staff_ids=tuple(free_first) if not self.plan.is_composite else (assigned[0].staff_id,),
            segments=tuple(assigned),
            tz=tz,
        )

    def _composite_slots(self, staff_id: int | None) -> list[Slot]:
        first = self.plan.segments[0]
        slots = []
        for branch_id in sorted(self.branch_tz):
            for day in self._days():
                bounds = self._bounds(branch_id, day)
                if bounds is None:
                    continue
                candidates: set[int] = set()
                for data in self.staff.values():
                    if first.qualification_id not in data.qualifications or branch_id not in data.branch_ids:
                        continue
                    for window_start, window_end in self.windows(data.staff_id, branch_id, day):
                        start = self._grid_start(branch_id, max(window_start, bounds[0]))
                        while start + first.duration <= window_end:
                            candidates.add(start)
                            start += self.plan.interval
                for start in sorted(candidates):
                    slot = self.check(start, branch_id, staff_id=staff_id)
                    if slot is not None:
                        slots.append(slot)
        slots.sort(key=lambda slot: (slot.starts_at, slot.branch_id))
        return slots

    def slots(self, staff_id: int | None = None) -> list[Slot]:
        if not self.staff:
            return []
        if self.plan.is_composite:
            return self._composite_slots(staff_id)
        return self._simple_slots()
