"""Personal data of the voice-agent domain for data-protection requests (contract:
privacy.contract): calls with their transcripts, callback requests, cached function answers.

A call belongs to a customer when it is linked to them or was made from or to one of their
numbers. Erasure keeps the call rows (duration, cost, outcome: statistics and billing) and
blanks numbers, transcripts, recordings and analysis.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from calls.models import Call, CallbackRequest, FunctionCallResult
from privacy.contract import Identity, RetentionRules

_TRANSCRIPT_BLANK: dict[str, Any] = {
    "transcript": "", "transcript_object": [], "transcript_with_tool_calls": [], "summary": "",
    "custom_analysis_data": {}, "collected_dynamic_variables": {},
}
_RECORDING_BLANK: dict[str, Any] = {"recording_url": "", "public_log_url": ""}


def _calls_of(customer_id: int, phones: tuple[str, ...]) -> QuerySet[Call]:
    condition = Q(customer_id=customer_id)
    if phones:
        condition |= Q(from_number__in=phones) | Q(to_number__in=phones)
    return Call.objects.filter(condition)


def _callbacks_of(customer_id: int, phones: tuple[str, ...]) -> QuerySet[CallbackRequest]:
    condition = Q(customer_id=customer_id)
    if phones:
        condition |= Q(phone__in=phones)
    return CallbackRequest.objects.filter(condition)


def _phones(customer_id: int) -> tuple[str, ...]:
    from appointments.personal_data import identity

    return identity(customer_id).phones


def call_ids(person: Identity) -> list[str]:
    """The ids of the customer's calls (linked to them or from or to one of their numbers)."""
    return list(_calls_of(person.customer_id, person.phones).values_list("call_id", flat=True))


def active_customer_ids(since: dt.datetime) -> set[int]:
    """Customers with a call on or after ``since`` (they are not inactive)."""
    return set(Call.objects.filter(customer_id__isnull=False, created_at__gte=since).values_list("customer_id", flat=True))


def export(customer_id: int) -> dict[str, Any]:
    phones = _phones(customer_id)
    calls = _calls_of(customer_id, phones).order_by("started_at", "pk")
    return {
        "calls": [
            {
                "call_id": c.call_id, "direction": c.direction, "from_number": c.from_number, "to_number": c.to_number,
                "started_at": c.started_at, "ended_at": c.ended_at, "duration_seconds": c.duration_seconds,
                "status": c.status, "summary": c.summary, "sentiment": c.user_sentiment,
                "transcript": c.transcript, "recording_url": c.recording_url, "appointment_id": c.appointment_id,
                "analysis": c.custom_analysis_data,
            }
            for c in calls
        ],
        "callback_requests": [
            {"phone": r.phone, "name": r.name, "reason": r.reason, "details": r.details, "status": r.status,
             "created_at": r.created_at, "outcome": r.outcome}
            for r in _callbacks_of(customer_id, phones).order_by("created_at")
        ],
    }


def erase(person: Identity, now: dt.datetime | None = None) -> dict[str, int]:
    with transaction.atomic():
        calls = _calls_of(person.customer_id, person.phones)
        call_ids = list(calls.values_list("call_id", flat=True))
        counts = {
            "calls": calls.update(
                from_number="", to_number="", transfer_destination="", metadata={}, dynamic_variables={},
                transfers=[], **_TRANSCRIPT_BLANK, **_RECORDING_BLANK,
            ),
            "function_results": FunctionCallResult.objects.filter(call_id__in=call_ids).delete()[0],
            "callback_requests": _callbacks_of(person.customer_id, person.phones).update(
                phone="", name="", details="", outcome=""),
        }
    return counts


def apply_retention(rules: RetentionRules, now: dt.datetime) -> dict[str, int]:
    counts = {"call_transcripts": 0, "call_recordings": 0}
    with transaction.atomic():
        cutoff = rules.cutoff(now, rules.transcript_days)
        if cutoff is not None:
            not_blank = Q()
            for field in _TRANSCRIPT_BLANK:
                not_blank |= ~Q(**{field: _TRANSCRIPT_BLANK[field]})
            counts["call_transcripts"] = Call.objects.filter(not_blank, created_at__lt=cutoff).update(**_TRANSCRIPT_BLANK)
            old_ids = Call.objects.filter(created_at__lt=cutoff).values_list("call_id", flat=True)
            counts["call_transcripts"] += FunctionCallResult.objects.filter(call_id__in=old_ids).delete()[0]
        cutoff = rules.cutoff(now, rules.recording_days)
        if cutoff is not None:
            counts["call_recordings"] = Call.objects.filter(
                ~Q(recording_url="") | ~Q(public_log_url=""), created_at__lt=cutoff).update(**_RECORDING_BLANK)
    return counts
