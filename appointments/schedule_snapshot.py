"""A per-process snapshot of a tenant's schedule (who works where and when, which services exist),
so that a slot search reads only the busy times from the database.

The snapshot is tagged with the tenant's schedule token (``appointments_schedule_generation``,
changed by database triggers on every write to the schedule tables, see migration 0005). The
availability engine reads the current token in the same query as the busy times; when it differs
from the snapshot's, the snapshot is loaded again. So a search never uses a schedule older than
its own query, in any process, whoever changed the schedule and however.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from threading import Lock

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch
from django.utils import timezone

from appointments.models import (
    AvailabilityOverride,
    Branch,
    Service,
    ServiceSegment,
    Staff,
    WorkingHour,
)
from askpro.lru import BoundedCache
from askpro.tenancy import current_schema

TOKEN_SQL = "SELECT token::text FROM appointments_schedule_generation WHERE id = 1"

# (staff_id, branch_id, kind, date_from, date_until, start_time, end_time)
Override = tuple[int | None, int | None, str, date, date, time | None, time | None]
# (start, end, break_start, break_end) as wall-clock times of the branch
Hours = tuple[time, time, time | None, time | None]


@dataclass(frozen=True)
class StaffSchedule:
    staff_id: int
    qualifications: frozenset[int]
    branch_ids: frozenset[int]  # active branches only
    hours: dict[tuple[int, int], tuple[Hours, ...]] = field(default_factory=dict)  # (branch, weekday) -> hours


@dataclass(frozen=True)
class Schedule:
    """What the availability engine needs besides busy times, as of ``token``."""

    token: str
    staff: dict[int, StaffSchedule]  # active staff
    branch_tz: dict[int, zoneinfo.ZoneInfo]  # active branches
    overrides: tuple[Override, ...]  # those not over before the snapshot was taken (minus a day)
    services: dict[int, Service]  # active services, composite segments prefetched; read only

    def qualified_staff(
        self, qualification_ids: set[int], *, staff_id: int | None = None, branch_id: int | None = None
    ) -> list[StaffSchedule]:
        """Active staff who perform any of ``qualification_ids`` at an active branch (or ``branch_id``)."""
        found = []
        for data in self.staff.values():
            if staff_id is not None and data.staff_id != staff_id:
                continue
            if not data.qualifications & qualification_ids or not data.branch_ids:
                continue
            if branch_id is not None and branch_id not in data.branch_ids:
                continue
            found.append(data)
        return found


# Bounded: a process serving a thousand tenants keeps the most recently used schedules only.
_snapshots: BoundedCache[str, Schedule] = BoundedCache(settings.ASKPRO_SNAPSHOT_CACHE_SIZE)
_load_lock = Lock()


def current_token() -> str:
    with connection.cursor() as cursor:
        cursor.execute(TOKEN_SQL)
        row = cursor.fetchone()
    return row[0] if row else ""


def cached() -> Schedule | None:
    """The snapshot of the current schema as last seen by this process (maybe outdated)."""
    return _snapshots.get(current_schema())


def snapshot() -> Schedule:
    """This process's snapshot of the current schema, loading it if there is none yet.

    It may be outdated: callers compare its token with the database's (the engine does so in its
    busy-time query) and call :func:`reload` when they differ.
    """
    return cached() or reload()


def reload() -> Schedule:
    """Load the current schema's schedule from the database and keep it as this process's snapshot."""
    with _load_lock:  # threads of one process share the work of loading
        token = current_token()
        existing = cached()
        if existing is not None and existing.token == token:
            return existing
        schedule = _load(token)
        _snapshots[current_schema()] = schedule
        return schedule


def _load(token: str) -> Schedule:
    branch_tz = {
        pk: zoneinfo.ZoneInfo(name)
        for pk, name in Branch.objects.filter(is_active=True).values_list("id", "time_zone")
    }
    qualifications: dict[int, set[int]] = defaultdict(set)
    branches: dict[int, set[int]] = defaultdict(set)
    active_staff = list(Staff.objects.filter(is_active=True).values_list("id", flat=True))
    for sid, service_id in Staff.services.through.objects.filter(staff_id__in=active_staff).values_list("staff_id", "service_id"):
        qualifications[sid].add(service_id)
    for sid, bid in Staff.branches.through.objects.filter(
        staff_id__in=active_staff, branch_id__in=branch_tz
    ).values_list("staff_id", "branch_id"):
        branches[sid].add(bid)
    hours: dict[int, dict[tuple[int, int], list[Hours]]] = defaultdict(lambda: defaultdict(list))
    for sid, bid, weekday, start, end, break_start, break_end in WorkingHour.objects.filter(
        staff_id__in=active_staff, branch_id__in=branch_tz
    ).values_list("staff_id", "branch_id", "weekday", "start_time", "end_time", "break_start", "break_end"):
        hours[sid][(bid, weekday)].append((start, end, break_start, break_end))
    staff = {
        sid: StaffSchedule(
            staff_id=sid,
            qualifications=frozenset(qualifications[sid]),
            branch_ids=frozenset(branches[sid]),
            hours={key: tuple(value) for key, value in hours[sid].items()},
        )
        for sid in active_staff
    }
    since = timezone.now().date() - timedelta(days=1)
    overrides = tuple(
        AvailabilityOverride.objects.filter(date_until__gte=since).values_list(
            "staff_id", "branch_id", "kind", "date_from", "date_until", "start_time", "end_time"
        )
    )
    services = {
        service.pk: service
        for service in Service.objects.filter(is_active=True).prefetch_related(
            Prefetch("segments", queryset=ServiceSegment.objects.order_by("position", "id"))
        )
    }
    return Schedule(token=token, staff=staff, branch_tz=branch_tz, overrides=overrides, services=services)
