"""Turning what the agent passes (service names, staff names, German dates) into our objects.

Used by the scheduling function calls (check-availability, book, reschedule, ...). Every failure
is a ``DomainError`` whose message is a question or sentence the agent can say.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from appointments.models import Branch, Service, Staff
from askpro.errors import NotFound, ValidationFailed
from calls.german_dates import parse_datetime
from calls.matching import match_name


class ServiceNotFound(NotFound):
    code = "SERVICE_NOT_FOUND"
    default_message = _("Diese Leistung bieten wir leider nicht an.")


class ServiceAmbiguous(ValidationFailed):
    code = "SERVICE_AMBIGUOUS"


class StaffNotFound(NotFound):
    code = "STAFF_NOT_FOUND"


class BranchNotFound(NotFound):
    code = "BRANCH_NOT_FOUND"


def _choose(model_name: str, query: Any, items: list[Any], not_found: type[NotFound], ambiguous_code: str) -> Any:
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


def resolve_service(query: Any) -> Service:
    """The active service the caller means (id, exact or forgiving name); asks when ambiguous."""
    services = list(Service.objects.filter(is_active=True).order_by("name"))
    service = _choose("service", query, services, ServiceNotFound, "SERVICE_AMBIGUOUS")
    if service is None:
        raise ValidationFailed(pgettext("voice", "Welche Leistung möchten Sie buchen?"), details={"missing": "service"})
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


def resolve_start(date_text: Any, time_text: Any, *, branch: Branch, now: dt.datetime | None = None) -> dt.datetime:
    """The aware start time from ISO or German words, in the branch's time zone."""
    return parse_datetime(str(date_text or ""), str(time_text) if time_text not in (None, "") else None,
                          tz=branch.tzinfo, now=now)
