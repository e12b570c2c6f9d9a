"""Turning what the agent passes (service names, staff names, German dates) into our objects.

Used by the scheduling function calls (check-availability, book, reschedule, ...). Every failure
is a ``DomainError`` whose message is a question or sentence the agent can say.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Exists, Max, Min, OuterRef
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from appointments.models import Branch, Service, ServiceSegment, Staff, WorkingHour
from askpro.errors import NotFound, ValidationFailed
from askpro.lru import BoundedCache
from askpro.tenancy import current_schema
from calls.errors import MISSING, BranchAmbiguous, CallErrorCode, DateInPast, StaffAmbiguous
from calls.german_dates import (
    DateNotUnderstood,
    TimeNotUnderstood,
    date_ambiguous,
    local_datetime,
    local_today,
    parse_datetime,
    time_ambiguous,
    understood,
)
from calls.german_dates import parse_date as parse_date  # views read a day the caller names
from calls.german_when import (
    DAYPARTS,
    NotUnderstood,
    Understood,
    combine,
    parse_daypart_hours,
    pick_readings,
)
from calls.matching import match_name
from calls.models import VoiceSettings

# What agents call the arguments (prompts differ; the first non-empty one wins).
SERVICE_ARGS = ("service", "service_name", "service_id", "dienstleistung", "leistung")
STAFF_ARGS = ("staff", "staff_name", "staff_id", "mitarbeiter", "employee")
BRANCH_ARGS = ("branch", "branch_name", "branch_id", "filiale", "standort", "location")
DATE_ARGS = ("date", "datum", "day", "tag")
TIME_ARGS = ("time", "uhrzeit", "zeit")
START_ARGS = ("starts_at", "start", "datetime", "appointment_time")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class ServiceNotFound(NotFound):
    code = CallErrorCode.SERVICE_NOT_FOUND
    default_message = _("Diese Leistung bieten wir leider nicht an.")


class ServiceAmbiguous(ValidationFailed):
    code = CallErrorCode.SERVICE_AMBIGUOUS


class StaffNotFound(NotFound):
    code = CallErrorCode.STAFF_NOT_FOUND


class BranchNotFound(NotFound):
    code = CallErrorCode.BRANCH_NOT_FOUND


def _missing(what: str, question: str) -> ValidationFailed:
    """A required argument the agent did not pass: ``<WHAT>_MISSING`` with the question to ask."""
    return MISSING[what](question, details={"missing": what})


def _choose(model_name: str, query: Any, items: Sequence[Any], not_found: type[NotFound],
            ambiguous: type[ValidationFailed]) -> Any:
    if query in (None, ""):
        return None
    if isinstance(query, int) or (isinstance(query, str) and query.isdigit()):
        for item in items:
            if item.pk == int(query):
                return item
    match = match_name(str(query), items, lambda item: item.name)
    if match.item is not None:
        return match.item
    if match.is_ambiguous:
        raise ambiguous(match.question, details={
            "query": _said(query), "candidates": [{"id": c.pk, "name": c.name} for c in match.candidates],
        })
    names = ", ".join(item.name for item in items[:8])
    said = _said(query)
    raise not_found(
        pgettext("voice", "%(query)s habe ich nicht gefunden. Zur Auswahl stehen: %(names)s.") % {"query": said, "names": names},
        details={"query": said, "options": [item.name for item in items[:20]]},
    )


SAID_CHARS = 80  # what a caller said, repeated back: a name, never a whole pasted text


def _said(query: Any) -> str:
    text = " ".join(str(query).split())
    return text if len(text) <= SAID_CHARS else text[: SAID_CHARS - 1] + "…"


@dataclass(frozen=True)
class Catalog:
    """What a tenant offers, as the agent's arguments are matched against it."""

    services: Sequence[Service]  # active, with their composite segments loaded (plan_for needs no query)
    branches: list[Branch]  # active
    staff_names: dict[int, str]


# schema -> (expires_at, catalog). Every function call of a running call matches names against
# the same few rows; like the host and routing caches, a short process-local cache spares the
# queries (a renamed service or a new branch shows within ASKPRO_TENANT_CACHE_SECONDS).
_catalogs: BoundedCache[str, tuple[float, Catalog]] = BoundedCache(settings.ASKPRO_TENANT_CACHE_SIZE)


def catalog() -> Catalog:
    """The current tenant's services, branches and staff names (3 queries, then cached briefly).
    The objects are shared between threads: read them, never change them."""
    ttl = settings.ASKPRO_TENANT_CACHE_SECONDS
    schema = current_schema()
    cached = _catalogs.get(schema)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    services = list(
        Service.objects.filter(is_active=True)
        .annotate(is_composite=Exists(ServiceSegment.objects.filter(service=OuterRef("pk"))))
        .prefetch_related("segments")
        .order_by("name")
    )
    found = Catalog(
        services=services,
        branches=list(Branch.objects.filter(is_active=True).order_by("name")),
        staff_names=dict(Staff.objects.values_list("id", "name")),
    )
    if ttl:
        _catalogs[schema] = (time.monotonic() + ttl, found)
    return found


def resolve_service(query: Any) -> Service:
    """The active service the caller means (id, exact or forgiving name); asks when ambiguous.
    Its composite segments are loaded, so planning a booking needs no further query."""
    service = _choose("service", query, catalog().services, ServiceNotFound, ServiceAmbiguous)
    if service is None:
        raise _missing("service", pgettext("voice", "Welche Leistung möchten Sie buchen?"))
    return service


def resolve_staff(query: Any, *, service: Service | None = None) -> Staff | None:
    """The staff member the caller asked for, or None for "egal" / not given."""
    if query in (None, "") or str(query).strip().lower() in {"egal", "beliebig", "any", "keine praeferenz", "keine präferenz"}:
        return None
    staff = Staff.objects.filter(is_active=True)
    if service is not None:
        staff = staff.filter(services=service)
    return _choose("staff", query, list(staff.order_by("name")), StaffNotFound, StaffAmbiguous)


def resolve_branch(query: Any) -> Branch:
    """The branch the caller means; the only active branch when there is just one."""
    branches = list(Branch.objects.filter(is_active=True).order_by("name"))
    if not branches:
        raise BranchNotFound(pgettext("voice", "Für dieses Unternehmen ist noch kein Standort eingerichtet."))
    if query in (None, ""):
        if len(branches) == 1:
            return branches[0]
        names = " oder ".join(branch.name for branch in branches)
        raise ValidationFailed(pgettext("voice", "In welcher Filiale: %(names)s?") % {"names": names},
                               details={"missing": "branch", "options": [b.name for b in branches]})
    return _choose("branch", query, branches, BranchNotFound, BranchAmbiguous)


def resolve_branch_or_any(query: Any) -> tuple[Branch | None, dict[int, Branch]]:
    """(the branch the caller named, or the only one, or None for "any branch"; all active branches)."""
    branches = catalog().branches
    if not branches:
        raise BranchNotFound(pgettext("voice", "Für dieses Unternehmen ist noch kein Standort eingerichtet."))
    by_id = {branch.pk: branch for branch in branches}
    if query in (None, ""):
        return (branches[0] if len(branches) == 1 else None), by_id
    return _choose("branch", query, branches, BranchNotFound, BranchAmbiguous), by_id


def resolve_start(date_text: Any, time_text: Any, *, branch: Branch, now: dt.datetime | None = None) -> dt.datetime:
    """The aware start time from ISO or German words, in the branch's time zone."""
    return parse_datetime(str(date_text or ""), str(time_text) if time_text not in (None, "") else None,
                          tz=branch.tzinfo, now=now)


@dataclass(frozen=True)
class When:
    """The day (and maybe the time) a caller asked for, in one time zone: one day, or a range of
    days ("Anfang nächster Woche"), optionally narrowed to a part of the day ("vormittags")."""

    day: dt.date
    starts_at: dt.datetime | None  # None when no clock time was named
    until: dt.date | None = None  # the last day of a range; None for one day
    window: tuple[dt.time, dt.time] | None = None  # local wall-clock window ("vormittags": 08:00-12:00)
    daypart: str | None = None  # the part of the day as said ("vormittags"), for the echo

    @property
    def last_day(self) -> dt.date:
        return self.until or self.day

    def echo(self, tz: zoneinfo.ZoneInfo) -> dict[str, Any]:
        """What was understood, so the agent can confirm it aloud (local times of the branch)."""
        local = self.starts_at.astimezone(tz) if self.starts_at is not None else None
        return {
            "date": self.day.isoformat(),
            "date_until": self.until.isoformat() if self.until else None,
            "time": local.strftime("%H:%M") if local else None,
            "starts_at": local.isoformat() if local else None,
            "time_from": self.window[0].strftime("%H:%M") if self.window else None,
            "time_until": self.window[1].strftime("%H:%M") if self.window else None,
            "daypart": self.daypart,
        }


# (schema, branch ids) -> (expires_at, {weekday: (first start, last end)}): which readings of "um
# drei" a branch can mean; like the catalog, cached briefly per process (one query for the week).
_spans: BoundedCache[tuple[str, tuple[int, ...]], tuple[float, dict[int, tuple[dt.time, dt.time]]]] = (
    BoundedCache(settings.ASKPRO_TENANT_CACHE_SIZE)
)


def opening_span(day: dt.date, branch_ids: Sequence[int]) -> tuple[dt.time, dt.time] | None:
    """From the first staff start to the last staff end on ``day``'s weekday at these branches
    (None when nobody works then). One query for all weekdays, then cached briefly."""
    ttl = settings.ASKPRO_TENANT_CACHE_SECONDS
    key = (current_schema(), tuple(sorted(branch_ids)))
    cached = _spans.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1].get(day.weekday())
    week = {
        row["weekday"]: (row["start"], row["end"])
        for row in WorkingHour.objects.filter(branch_id__in=branch_ids, staff__is_active=True)
        .values("weekday").annotate(start=Min("start_time"), end=Max("end_time")).order_by()
    }
    if ttl:
        _spans[key] = (time.monotonic() + ttl, week)
    return week.get(day.weekday())


_dayparts: BoundedCache[str, tuple[float, dict[str, tuple[dt.time, dt.time]]]] = BoundedCache(
    settings.ASKPRO_TENANT_CACHE_SIZE
)


def daypart_windows() -> dict[str, tuple[dt.time, dt.time]]:
    """The tenant's parts of the day (``VoiceSettings.daypart_hours`` over ``german_when.DAYPARTS``);
    read only when a caller names one, then cached briefly."""
    ttl = settings.ASKPRO_TENANT_CACHE_SECONDS
    schema = current_schema()
    cached = _dayparts.get(schema)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    own = VoiceSettings.objects.values_list("daypart_hours", flat=True).first()
    try:
        windows = {**DAYPARTS, **parse_daypart_hours(own)}
    except ValueError:  # saved around the admin's validation: the defaults rather than no answer
        windows = dict(DAYPARTS)
    if ttl:
        _dayparts[schema] = (time.monotonic() + ttl, windows)
    return windows


def _understood_args(raw_date: Any, raw_time: Any, today: dt.date) -> Understood:
    """The date argument and the time argument read together (each may hold both: "übermorgen um
    15 Uhr" in ``date``); the part that cannot be read is asked again, never dropped."""
    found = understood(str(raw_date), today=today, expect="date")
    if raw_time in (None, ""):
        return found
    try:
        return combine(found, understood(str(raw_time), today=today, expect="time"))
    except NotUnderstood as exc:
        raise understood_error(exc, f"{raw_date} {raw_time}") from exc


def understood_error(exc: NotUnderstood, text: str) -> ValidationFailed:
    """The question for the part of a phrase that could not be read."""
    if exc.part == "time":
        return TimeNotUnderstood(details={"time": text})
    return DateNotUnderstood(details={"date": text})


def resolve_when(
    arg: Callable[..., Any], *, tz: zoneinfo.ZoneInfo, require_time: bool, now: dt.datetime | None = None,
    hours: Callable[[dt.date], tuple[dt.time, dt.time] | None] | None = None,
) -> When:
    """Date and time from the agent's arguments: an ISO datetime (``starts_at``), or a date (ISO or
    German words, maybe with the time in it) plus an optional time. A clock hour that may be morning
    or afternoon is read by the opening ``hours`` of that day, and asked back when both are open; a
    day in the past is refused with a question."""
    raw_start = arg(*START_ARGS)
    raw_date = raw_start or arg(*DATE_ARGS)
    raw_time = arg(*TIME_ARGS)
    today = local_today(tz, now)
    if raw_date in (None, ""):
        raise _missing("date", pgettext("voice", "An welchem Tag möchten Sie kommen?"))
    if _ISO_DATETIME.match(str(raw_date).strip()):
        starts_at = parse_datetime(str(raw_date), None, tz=tz, now=now)
        when = When(starts_at.astimezone(tz).date(), starts_at)
        if raw_time not in (None, ""):
            # a time argument beside a full datetime must say the same, else the caller is asked
            said = understood(str(raw_time), today=today, expect="time").times
            at = starts_at.astimezone(tz).time().replace(tzinfo=None)
            if said and at not in said:
                span = hours(when.day) if hours is not None else None
                other = pick_readings(said, *(span or (None, None)))[0]
                raise time_ambiguous(tuple(sorted({at, other})), text=f"{raw_date} {raw_time}")
    else:
        when = _when(_understood_args(raw_date, raw_time, today), tz, hours, text=f"{raw_date} {raw_time or ''}".strip())
    if when.last_day < today:
        raise DateInPast(
            pgettext("voice", "Dieser Tag liegt in der Vergangenheit. Welcher Tag passt Ihnen?"),
            details={"date": str(raw_date)},
        )
    if require_time and when.starts_at is None and when.until is not None:
        raise _missing("date", pgettext("voice", "An welchem Tag genau möchten Sie kommen?"))
    if require_time and when.starts_at is None:
        raise _missing("time", pgettext("voice", "Um wie viel Uhr möchten Sie kommen?"))
    return when


def _when(found: Understood, tz: zoneinfo.ZoneInfo, hours: Callable[[dt.date], tuple[dt.time, dt.time] | None] | None,
          *, text: str) -> When:
    if found.day_choices:
        raise date_ambiguous(found.day_choices, said_weekday=found.said_weekday, text=text)
    if found.first_day is None:
        raise _missing("date", pgettext("voice", "An welchem Tag möchten Sie kommen?"))
    day, until = found.first_day, found.last_day if found.is_range else None
    times = found.times
    if len(times) > 1:
        span = hours(day) if hours is not None else None
        times = pick_readings(times, *(span or (None, None)))
        if len(times) > 1:
            raise time_ambiguous(times, text=text)
    if times and until is not None:
        # "Anfang nächster Woche um 10": that time on any day of the range
        at = times[0]
        end = (dt.datetime.combine(day, at) + dt.timedelta(minutes=1)).time()
        return When(day, None, until=until, window=(at, end), daypart=found.daypart)
    if times:
        return When(day, local_datetime(day, times[0], tz), daypart=found.daypart)
    window = found.window
    if found.daypart is not None and window == DAYPARTS.get(found.daypart):
        window = daypart_windows()[found.daypart]  # "vormittags" as this business means it
    return When(day, None, until=until, window=window, daypart=found.daypart)


def duration_arg(value: Any) -> int | None:
    """A duration in minutes the agent passed, or None when absent or nonsense."""
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        return None
    return minutes if 5 <= minutes <= 600 else None
