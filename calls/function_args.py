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
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from appointments.models import Branch, Service, ServiceSegment, Staff
from askpro.errors import NotFound, ValidationFailed
from askpro.tenancy import current_schema
from calls.german_dates import local_datetime, local_today, parse_date, parse_datetime, parse_time
from calls.matching import match_name

# What agents call the arguments (prompts differ; the first non-empty one wins).
SERVICE_ARGS = ("service", "service_name", "service_id", "dienstleistung", "leistung")
STAFF_ARGS = ("staff", "staff_name", "staff_id", "mitarbeiter", "employee")
BRANCH_ARGS = ("branch", "branch_name", "branch_id", "filiale", "standort", "location")
DATE_ARGS = ("date", "datum", "day", "tag")
TIME_ARGS = ("time", "uhrzeit", "zeit")
START_ARGS = ("starts_at", "start", "datetime", "appointment_time")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class ServiceNotFound(NotFound):
    code = "SERVICE_NOT_FOUND"
    default_message = _("Diese Leistung bieten wir leider nicht an.")


class ServiceAmbiguous(ValidationFailed):
    code = "SERVICE_AMBIGUOUS"


class StaffNotFound(NotFound):
    code = "STAFF_NOT_FOUND"


class BranchNotFound(NotFound):
    code = "BRANCH_NOT_FOUND"


def _missing(what: str, question: str) -> ValidationFailed:
    """A required argument the agent did not pass: ``<WHAT>_MISSING`` with the question to ask."""
    error = ValidationFailed(question, details={"missing": what})
    error.code = f"{what.upper()}_MISSING"
    return error


def _choose(model_name: str, query: Any, items: Sequence[Any], not_found: type[NotFound], ambiguous_code: str) -> Any:
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
        error = ValidationFailed(match.question, details={
            "query": str(query), "candidates": [{"id": c.pk, "name": c.name} for c in match.candidates],
        })
        error.code = ambiguous_code
        raise error
    names = ", ".join(item.name for item in items[:8])
    raise not_found(
        pgettext("voice", "%(query)s habe ich nicht gefunden. Zur Auswahl stehen: %(names)s.") % {"query": query, "names": names},
        details={"query": str(query), "options": [item.name for item in items]},
    )


@dataclass(frozen=True)
class Catalog:
    """What a tenant offers, as the agent's arguments are matched against it."""

    services: Sequence[Service]  # active, with their composite segments loaded (plan_for needs no query)
    branches: list[Branch]  # active
    staff_names: dict[int, str]


# schema -> (expires_at, catalog). Every function call of a running call matches names against
# the same few rows; like the host and routing caches, a short process-local cache spares the
# queries (a renamed service or a new branch shows within ASKPRO_TENANT_CACHE_SECONDS).
_catalogs: dict[str, tuple[float, Catalog]] = {}


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
    service = _choose("service", query, catalog().services, ServiceNotFound, "SERVICE_AMBIGUOUS")
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
    return _choose("staff", query, list(staff.order_by("name")), StaffNotFound, "STAFF_AMBIGUOUS")


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
    return _choose("branch", query, branches, BranchNotFound, "BRANCH_AMBIGUOUS")


def resolve_branch_or_any(query: Any) -> tuple[Branch | None, dict[int, Branch]]:
    """(the branch the caller named, or the only one, or None for "any branch"; all active branches)."""
    branches = catalog().branches
    if not branches:
        raise BranchNotFound(pgettext("voice", "Für dieses Unternehmen ist noch kein Standort eingerichtet."))
    by_id = {branch.pk: branch for branch in branches}
    if query in (None, ""):
        return (branches[0] if len(branches) == 1 else None), by_id
    return _choose("branch", query, branches, BranchNotFound, "BRANCH_AMBIGUOUS"), by_id


def resolve_start(date_text: Any, time_text: Any, *, branch: Branch, now: dt.datetime | None = None) -> dt.datetime:
    """The aware start time from ISO or German words, in the branch's time zone."""
    return parse_datetime(str(date_text or ""), str(time_text) if time_text not in (None, "") else None,
                          tz=branch.tzinfo, now=now)


@dataclass(frozen=True)
class When:
    """The day (and maybe the time) a caller asked for, in one time zone."""

    day: dt.date
    starts_at: dt.datetime | None  # None when only a day was named


def resolve_when(
    arg: Callable[..., Any], *, tz: zoneinfo.ZoneInfo, require_time: bool, now: dt.datetime | None = None,
) -> When:
    """Date and time from the agent's arguments: an ISO datetime (``starts_at``), or a date (ISO or
    German words) plus an optional time; a day in the past is refused with a question."""
    raw_start = arg(*START_ARGS)
    raw_date = raw_start or arg(*DATE_ARGS)
    raw_time = arg(*TIME_ARGS)
    today = local_today(tz, now)
    if raw_date in (None, ""):
        raise _missing("date", pgettext("voice", "An welchem Tag möchten Sie kommen?"))
    if _ISO_DATETIME.match(str(raw_date).strip()):
        starts_at = parse_datetime(str(raw_date), None, tz=tz, now=now)
        when = When(starts_at.astimezone(tz).date(), starts_at)
    else:
        day = parse_date(str(raw_date), today=today)
        at = parse_time(str(raw_time)) if raw_time not in (None, "") else None
        when = When(day, local_datetime(day, at, tz) if at is not None else None)
    if when.day < today:
        error = ValidationFailed(
            pgettext("voice", "Dieser Tag liegt in der Vergangenheit. Welcher Tag passt Ihnen?"),
            details={"date": str(raw_date)},
        )
        error.code = "DATE_IN_PAST"
        raise error
    if require_time and when.starts_at is None:
        raise _missing("time", pgettext("voice", "Um wie viel Uhr möchten Sie kommen?"))
    return when


def duration_arg(value: Any) -> int | None:
    """A duration in minutes the agent passed, or None when absent or nonsense."""
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        return None
    return minutes if 5 <= minutes <= 600 else None
