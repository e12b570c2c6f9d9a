"""Call records from Retell events, callback requests, and the call's links to customers and
appointments.

Retell sends ``call_started``, ``call_ended``, ``call_analyzed``, ``transcript_updated`` and
``transfer_*`` in no guaranteed order and possibly more than once. Every ``apply_*`` function
upserts the one ``Call`` row of the ``call_id`` under a row lock and only ever adds knowledge:
fields missing from a payload are left alone, a later event never regresses the status, and a
stale ``transcript_updated`` never replaces the final transcript. The billable usage of a call
is handed to billing exactly once, after commit (hook ``calls.call_ended``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from appointments import customers as customer_services
from appointments import services as booking
from appointments.models import Appointment
from askpro import hooks
from askpro.errors import NotFound, ValidationFailed
from askpro.tenancy import current_schema, current_tenant
from calls.errors import CallErrorCode
from calls.events import CallbackEscalated, CallbackRequested, CallEnded
from calls.models import Call, CallbackRequest
from tenants.models import Tenant

logger = logging.getLogger(__name__)

LIFECYCLE_EVENTS = ("call_started", "call_ended", "call_analyzed", "transcript_updated")
TRANSFER_EVENTS = ("transfer_started", "transfer_bridged", "transfer_cancelled", "transfer_ended")
_STATUS_RANK: dict[str, int] = {
    Call.Status.REGISTERED: 0, Call.Status.ONGOING: 1,
    Call.Status.ENDED: 2, Call.Status.NOT_CONNECTED: 2, Call.Status.ERROR: 2,
}
_NOT_CONNECTED_REASONS = {"dial_failed", "dial_no_answer", "dial_busy", "invalid_destination", "user_declined"}
ESCALATION_BATCH = 500
_ANALYSIS_NAME_KEYS = ("caller_name", "customer_name", "name", "full_name")

# Callback due times by priority (minutes after the request).
CALLBACK_DUE_MINUTES = {
    CallbackRequest.Priority.URGENT: 30,
    CallbackRequest.Priority.HIGH: 120,
    CallbackRequest.Priority.NORMAL: 24 * 60,
    CallbackRequest.Priority.LOW: 3 * 24 * 60,
}
_PRIORITY_UP = {
    CallbackRequest.Priority.LOW: CallbackRequest.Priority.NORMAL,
    CallbackRequest.Priority.NORMAL: CallbackRequest.Priority.HIGH,
    CallbackRequest.Priority.HIGH: CallbackRequest.Priority.URGENT,
    CallbackRequest.Priority.URGENT: CallbackRequest.Priority.URGENT,
}


class MalformedCallEvent(ValidationFailed):
    code = CallErrorCode.CALL_EVENT_MALFORMED


# --- payload helpers ------------------------------------------------------------------------


def event_name(payload: Mapping[str, Any]) -> str:
    """Retell's event name (``event``; older pages use ``event_type``)."""
    return str(payload.get("event") or payload.get("event_type") or "")


def call_object(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The call object (``call``; older payloads use ``data``)."""
    call = payload.get("call") or payload.get("data") or {}
    if not isinstance(call, dict) or not call.get("call_id"):
        raise MalformedCallEvent(details={"reason": "call.call_id missing"})
    return call


def _from_ms(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def cost_to_cents(call_cost: Any) -> int | None:
    """Retell's ``combined_cost`` (already in cents, fractional) as whole cents, half up."""
    if not isinstance(call_cost, dict) or call_cost.get("combined_cost") is None:
        return None
    try:
        return int(Decimal(str(call_cost["combined_cost"])).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    except (ArithmeticError, ValueError):
        return None


def customer_number(call: Mapping[str, Any]) -> str:
    """The customer's side of the line: the caller on inbound calls, the callee on outbound."""
    if call.get("direction") == "outbound":
        return str(call.get("to_number") or "")
    return str(call.get("from_number") or "")


# --- applying events ------------------------------------------------------------------------


def _locked_call(call_id: str) -> tuple[Call, bool]:
    """The row for ``call_id`` locked for update, created if needed (race-safe)."""
    call = Call.objects.select_for_update().filter(call_id=call_id).first()
    if call is not None:
        return call, False
    # INSERT ... ON CONFLICT DO NOTHING: race-safe without a savepoint (two round trips fewer on
    # the booking path than create() in atomic() and catching the IntegrityError)
    Call.objects.bulk_create([Call(call_id=call_id)], ignore_conflicts=True)
    return Call.objects.select_for_update().get(call_id=call_id), True


def _set(call: Call, changed: set[str], field: str, value: Any) -> None:
    if value in (None, "", [], {}):
        return
    if getattr(call, field) != value:
        setattr(call, field, value)
        changed.add(field)


def _apply_identity(call: Call, data: Mapping[str, Any], changed: set[str]) -> None:
    _set(call, changed, "agent_id", str(data.get("agent_id") or "")[:100])
    if isinstance(data.get("agent_version"), int):
        _set(call, changed, "agent_version", data["agent_version"])
    _set(call, changed, "agent_name", str(data.get("agent_name") or "")[:200])
    _set(call, changed, "call_type", str(data.get("call_type") or "")[:20])
    direction = data.get("direction") or ("web" if data.get("call_type") == "web_call" else "")
    _set(call, changed, "direction", direction)
    _set(call, changed, "from_number", str(data.get("from_number") or "")[:40])
    _set(call, changed, "to_number", str(data.get("to_number") or "")[:40])
    _set(call, changed, "started_at", _from_ms(data.get("start_timestamp")))
    if isinstance(data.get("metadata"), dict):
        _set(call, changed, "metadata", data["metadata"])
    if isinstance(data.get("retell_llm_dynamic_variables"), dict):
        _set(call, changed, "dynamic_variables", data["retell_llm_dynamic_variables"])


def _apply_end(call: Call, data: Mapping[str, Any], changed: set[str]) -> None:
    _set(call, changed, "ended_at", _from_ms(data.get("end_timestamp")))
    if data.get("duration_ms") is not None:
        try:
            _set(call, changed, "duration_ms", max(0, int(data["duration_ms"])))
        except (TypeError, ValueError):
            pass
    reason = str(data.get("disconnection_reason") or "")[:80]
    _set(call, changed, "disconnection_reason", reason)
    if isinstance(data.get("transfer_destination"), str):
        _set(call, changed, "transfer_destination", data["transfer_destination"][:200])
    _set(call, changed, "transcript", data.get("transcript") or "")
    if isinstance(data.get("transcript_object"), list):
        _set(call, changed, "transcript_object", data["transcript_object"])
    if isinstance(data.get("transcript_with_tool_calls"), list):
        _set(call, changed, "transcript_with_tool_calls", data["transcript_with_tool_calls"])
    _set(call, changed, "recording_url", str(data.get("recording_url") or "")[:1000])
    _set(call, changed, "public_log_url", str(data.get("public_log_url") or "")[:1000])
    if isinstance(data.get("call_cost"), dict):
        _set(call, changed, "cost_cents", cost_to_cents(data["call_cost"]))
        _set(call, changed, "cost_breakdown", data["call_cost"])
    if isinstance(data.get("latency"), dict):
        _set(call, changed, "latency", data["latency"])
    if isinstance(data.get("collected_dynamic_variables"), dict):
        _set(call, changed, "collected_dynamic_variables", data["collected_dynamic_variables"])
    final = Call.Status.NOT_CONNECTED if reason in _NOT_CONNECTED_REASONS else Call.Status.ENDED
    if reason.startswith("error_"):
        final = Call.Status.ERROR
    _raise_status(call, final, changed)


def _apply_analysis(call: Call, analysis: Mapping[str, Any], changed: set[str]) -> None:
    _set(call, changed, "summary", str(analysis.get("call_summary") or ""))
    _set(call, changed, "user_sentiment", str(analysis.get("user_sentiment") or "")[:20])
    if isinstance(analysis.get("call_successful"), bool):
        _set(call, changed, "call_successful", analysis["call_successful"])
    if isinstance(analysis.get("in_voicemail"), bool):
        _set(call, changed, "in_voicemail", analysis["in_voicemail"])
    custom = analysis.get("custom_analysis_data")
    if isinstance(custom, dict):
        _set(call, changed, "custom_analysis_data", custom)
        if custom.get("appointment_booked") is True and not call.appointment_made:
            call.appointment_made = True
            changed.add("appointment_made")


def _raise_status(call: Call, status: str, changed: set[str]) -> None:
    if _STATUS_RANK[status] > _STATUS_RANK[call.status]:
        call.status = status
        changed.add("status")


def _link_customer(call: Call, changed: set[str], name: str = "") -> None:
    """Find or create the caller's customer (a first-time caller becomes a lead)."""
    number = customer_services.normalize_phone(customer_number({
        "direction": call.direction, "from_number": call.from_number, "to_number": call.to_number,
    }))
    if call.customer_id is None and number:
        customer, _created = customer_services.get_or_create_caller(
            number, name=name, actor=f"phone:{call.call_id}",
        )
        call.customer = customer
        changed.add("customer")
    elif call.customer_id is not None and name:
        customer_services.fill_customer_name(call.customer_id, name)


def _name_from_analysis(call: Call) -> str:
    for key in _ANALYSIS_NAME_KEYS:
        value = call.custom_analysis_data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _finish(call: Call, changed: set[str]) -> None:
    if changed:
        call.save(update_fields=[*sorted(changed), "updated_at"])


def _emit_usage_once(call: Call, changed: set[str]) -> None:
    """Hand the call's billable usage to billing once, when its end is known."""
    if call.usage_emitted_at is not None or call.status not in (
        Call.Status.ENDED, Call.Status.NOT_CONNECTED, Call.Status.ERROR,
    ):
        return
    call.usage_emitted_at = timezone.now()
    changed.add("usage_emitted_at")
    ended = call.ended_at or call.usage_emitted_at
    tenant = current_tenant() or Tenant.objects.get(schema_name=current_schema())
    hooks.emit(CallEnded(
        call_id=call.call_id,
        tenant_id=tenant.pk,
        duration_seconds=int(call.duration_seconds or 0),
        provider_cost_cents=call.cost_cents or 0,
        provider_currency=call.cost_currency or "USD",
        ended_at=ended,
    ))


def apply_call_event(payload: Mapping[str, Any]) -> Call:
    """Apply any Retell call webhook payload (idempotent, order-independent)."""
    name = event_name(payload)
    handlers: dict[str, Callable[[Mapping[str, Any]], Call]] = {
        "call_started": apply_call_started,
        "call_ended": apply_call_ended,
        "call_analyzed": apply_call_analyzed,
        "transcript_updated": apply_transcript_updated,
    }
    if name in handlers:
        return handlers[name](payload)
    if name in TRANSFER_EVENTS:
        return apply_transfer_event(payload)
    raise MalformedCallEvent(details={"reason": f"unknown event {name!r}"})


def apply_call_started(payload: Mapping[str, Any]) -> Call:
    """``call_started``: who calls whom, when; links (or creates) the customer."""
    data = call_object(payload)
    with transaction.atomic():
        call, _created = _locked_call(data["call_id"])
        changed: set[str] = set()
        _apply_identity(call, data, changed)
        if call.started_event_at is None:
            call.started_event_at = timezone.now()
            changed.add("started_event_at")
        _raise_status(call, Call.Status.ONGOING, changed)
        _link_customer(call, changed)
        _finish(call, changed)
    return call


def apply_call_ended(payload: Mapping[str, Any]) -> Call:
    """``call_ended``: the final transcript, duration, cost; reports the usage once."""
    data = call_object(payload)
    with transaction.atomic():
        call, _created = _locked_call(data["call_id"])
        changed: set[str] = set()
        _apply_identity(call, data, changed)
        _apply_end(call, data, changed)
        if call.ended_event_at is None:
            call.ended_event_at = timezone.now()
            changed.add("ended_event_at")
        _link_customer(call, changed)
        _emit_usage_once(call, changed)
        _finish(call, changed)
    return call


def apply_call_analyzed(payload: Mapping[str, Any]) -> Call:
    """``call_analyzed``: everything of ``call_ended`` plus the analysis (summary, sentiment,
    success, custom data); fills an unknown caller's name from the analysis."""
    data = call_object(payload)
    with transaction.atomic():
        call, _created = _locked_call(data["call_id"])
        changed: set[str] = set()
        _apply_identity(call, data, changed)
        _apply_end(call, data, changed)
        if isinstance(data.get("call_analysis"), dict):
            _apply_analysis(call, data["call_analysis"], changed)
        if call.analyzed_event_at is None:
            call.analyzed_event_at = timezone.now()
            changed.add("analyzed_event_at")
        _link_customer(call, changed, name=_name_from_analysis(call))
        _emit_usage_once(call, changed)
        _finish(call, changed)
    return call


def apply_transcript_updated(payload: Mapping[str, Any]) -> Call:
    """``transcript_updated``: the live transcript; ignored once the final one is stored."""
    data = call_object(payload)
    with transaction.atomic():
        call, _created = _locked_call(data["call_id"])
        changed: set[str] = set()
        _apply_identity(call, data, changed)
        if call.ended_event_at is None and call.analyzed_event_at is None:
            transcript = data.get("transcript") or ""
            # Updates can be retried out of order: keep the longest (= latest) live transcript.
            if len(transcript) >= len(call.transcript):
                _set(call, changed, "transcript", transcript)
                if isinstance(data.get("transcript_object"), list):
                    _set(call, changed, "transcript_object", data["transcript_object"])
                if isinstance(data.get("transcript_with_tool_calls"), list):
                    _set(call, changed, "transcript_with_tool_calls", data["transcript_with_tool_calls"])
        _raise_status(call, Call.Status.ONGOING, changed)
        _finish(call, changed)
    return call


def apply_transfer_event(payload: Mapping[str, Any]) -> Call:
    """``transfer_*``: appended to the call's transfer log once per (event, destination, start)."""
    data = call_object(payload)
    name = event_name(payload)
    destination = payload.get("transfer_destination")
    entry = {
        "event": name,
        "destination": destination if isinstance(destination, (dict, str)) else None,
        "option_type": (payload.get("transfer_option") or {}).get("type") if isinstance(payload.get("transfer_option"), dict) else None,
        "start_timestamp": data.get("start_timestamp"),
        "transfer_end_timestamp": data.get("transfer_end_timestamp"),
    }
    with transaction.atomic():
        call, _created = _locked_call(data["call_id"])
        changed: set[str] = set()
        _apply_identity(call, data, changed)
        key = (entry["event"], repr(entry["destination"]), entry["start_timestamp"])
        if all((t.get("event"), repr(t.get("destination")), t.get("start_timestamp")) != key for t in call.transfers):
            call.transfers = [*call.transfers, entry]
            changed.add("transfers")
        if isinstance(destination, dict) and destination.get("number"):
            _set(call, changed, "transfer_destination", str(destination["number"])[:200])
        _finish(call, changed)
    return call


# --- links from function calls ----------------------------------------------------------------


def ensure_call(call_id: str, call_data: Mapping[str, Any] | None = None) -> Call:
    """The call row for a live function call (it may arrive before ``call_started``)."""
    with transaction.atomic():
        call, _created = _locked_call(call_id)
        changed: set[str] = set()
        if call_data:
            _apply_identity(call, call_data, changed)
        _finish(call, changed)
    return call


def link_customer_to_call(call_id: str, customer_id: int) -> None:
    """Attach the identified customer to the call (first identification wins)."""
    with transaction.atomic():
        call, _created = _locked_call(call_id)
        if call.customer_id is None:
            call.customer_id = customer_id
            call.save(update_fields=["customer", "updated_at"])


def assign_customer(call_pk: int, customer_id: int) -> Call:
    """Link a call to the customer a person chose (replaces an automatic match or none)."""
    from appointments.models import Customer

    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_pk)
        customer = Customer.objects.get(pk=customer_id)
        if call.customer_id != customer.pk:
            call.customer = customer
            call.save(update_fields=["customer", "updated_at"])
    return call


def link_appointment_to_call(call_id: str, appointment_id: int) -> None:
    """Record that this call made (or moved) an appointment."""
    with transaction.atomic():
        call, _created = _locked_call(call_id)
        call.appointment_id = appointment_id
        call.appointment_made = True
        call.save(update_fields=["appointment", "appointment_made", "updated_at"])


# --- bookings from a call ---------------------------------------------------------------------


def book_for_call(
    *,
    call_id: str,
    customer_id: int,
    service_id: int,
    starts_at: dt.datetime,
    staff_id: int | None = None,
    branch_id: int | None = None,
    duration_minutes: int | None = None,
    notes: str = "",
    actor: str | None = None,
    journey_status: str | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book through ``appointments.services.book_appointment`` (source ``phone``), link customer
    and appointment to the call and move a lead on in the journey, all in one transaction.
    Raises SlotUnavailable (with alternatives) like the booking service. ``journey_status`` is
    the customer's current status when the caller already has it (spares a read)."""
    actor = actor or f"phone:{call_id}"
    with transaction.atomic():
        # The call row before the staff calendars (the lock order of appointments.locking).
        call, _created = _locked_call(call_id)
        appointment = booking.book_appointment(
            customer_id=customer_id, service_id=service_id, starts_at=starts_at, staff_id=staff_id,
            branch_id=branch_id, duration_minutes=duration_minutes, notes=notes, source=Appointment.Source.PHONE,
            actor=actor, now=now,
        )
        call.customer_id = call.customer_id or customer_id  # the first identification wins
        call.appointment_id = appointment.pk
        call.appointment_made = True
        call.save(update_fields=["customer", "appointment", "appointment_made", "updated_at"])
        customer_services.note_booking(customer_id, actor=actor, current=journey_status)
    return appointment


def reschedule_for_call(
    *, call_id: str, appointment_id: int, new_starts_at: dt.datetime, staff_id: int | None = None, reason: str = "",
    now: dt.datetime | None = None,
) -> booking.RescheduleResult:
    """Move an appointment through ``reschedule_appointment`` (policy included, source ``phone``)
    and record on the call that it touched this appointment."""
    with transaction.atomic():
        _locked_call(call_id)  # the call row before the staff calendars (appointments.locking)
        result = booking.reschedule_appointment(
            appointment_id=appointment_id, new_starts_at=new_starts_at, staff_id=staff_id, reason=reason,
            source=Appointment.Source.PHONE, actor=f"phone:{call_id}", now=now,
        )
        link_appointment_to_call(call_id, appointment_id)
    return result


def cancel_for_call(
    *, call_id: str, appointment_id: int, reason: str = "", now: dt.datetime | None = None,
) -> booking.CancellationResult:
    """Cancel through ``cancel_appointment`` (policy and fee included, source ``phone``)."""
    return booking.cancel_appointment(
        appointment_id=appointment_id, reason=reason or "cancelled by phone", source=Appointment.Source.PHONE,
        actor=f"phone:{call_id}", now=now,
    )


def book_from_call(
    call_pk: int, *, service_id: int, starts_at: dt.datetime, actor: str, staff_id: int | None = None,
    branch_id: int | None = None, notes: str = "",
) -> Appointment:
    """The admin's "create appointment from call": books for the call's customer (a caller without
    a customer record becomes a lead first) and links the appointment to the call."""
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_pk)
        customer_id = call.customer_id
        if customer_id is None:
            number = customer_number({"direction": call.direction, "from_number": call.from_number,
                                      "to_number": call.to_number})
            customer, _created = customer_services.get_or_create_caller(number, actor=actor)
            customer_id = customer.pk
        return book_for_call(
            call_id=call.call_id, customer_id=customer_id, service_id=service_id, starts_at=starts_at,
            staff_id=staff_id, branch_id=branch_id, notes=notes, actor=actor,
        )


def mark_reviewed(call_id: int, *, user: Any) -> bool:
    """Mark a call as reviewed by a team member; False when it already was."""
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if call.is_reviewed:
            return False
        call.is_reviewed = True
        call.reviewed_at = timezone.now()
        call.reviewed_by = user if getattr(user, "pk", None) else None
        call.save(update_fields=["is_reviewed", "reviewed_at", "reviewed_by", "updated_at"])
        return True


# --- callbacks ------------------------------------------------------------------------------


def request_callback(
    *, phone: str, reason: str = CallbackRequest.Reason.OTHER, priority: str = CallbackRequest.Priority.NORMAL,
    name: str = "", details: str = "", call_id: str | None = None, customer_id: int | None = None,
    now: dt.datetime | None = None,
) -> tuple[CallbackRequest, bool]:
    """Queue a callback (one open per call: a repeated request returns the first) and emit
    ``calls.callback_requested`` after commit. Returns (request, created)."""
    number = customer_services.require_phone(phone)
    if reason not in CallbackRequest.Reason.values:
        reason = CallbackRequest.Reason.OTHER
    if priority not in CallbackRequest.Priority.values:
        raise ValidationFailed(details={"priority": priority})
    now = now or timezone.now()
    with transaction.atomic():
        call = None
        if call_id:
            call, _created = _locked_call(call_id)
            existing = CallbackRequest.objects.filter(
                call=call, status__in=[CallbackRequest.Status.OPEN, CallbackRequest.Status.IN_PROGRESS]
            ).first()
            if existing is not None:
                return existing, False
            customer_id = customer_id or call.customer_id
        if customer_id is None:
            customer = customer_services.find_customer_by_phone(number)
            customer_id = customer.pk if customer else None
        callback = CallbackRequest.objects.create(
            call=call, customer_id=customer_id, phone=number, name=name[:200], reason=reason,
            details=details, priority=priority,
            due_at=now + dt.timedelta(minutes=CALLBACK_DUE_MINUTES[CallbackRequest.Priority(priority)]),
        )
        hooks.emit(CallbackRequested(
            callback_id=callback.pk, priority=str(priority), reason=str(reason), phone=number,
            name=callback.name, details=callback.details,
        ))
    return callback, True


def complete_callback(callback_id: int, *, user: Any = None, outcome: str = "") -> bool:
    """Close a callback as done; False if it was already closed."""
    with transaction.atomic():
        callback = CallbackRequest.objects.select_for_update().get(pk=callback_id)
        if callback.status in (CallbackRequest.Status.DONE, CallbackRequest.Status.CANCELLED):
            return False
        callback.status = CallbackRequest.Status.DONE
        callback.handled_at = timezone.now()
        callback.handled_by = user if getattr(user, "pk", None) else None
        callback.outcome = outcome
        callback.save(update_fields=["status", "handled_at", "handled_by", "outcome", "updated_at"])
        return True


def escalate_overdue_callbacks(now: dt.datetime | None = None) -> list[int]:
    """Escalate open callbacks past their due time: priority up one step, a new due time, and
    ``calls.callback_escalated`` after commit. Safe to run concurrently and repeatedly."""
    now = now or timezone.now()
    escalated = []
    with transaction.atomic():
        overdue = (
            CallbackRequest.objects.select_for_update(skip_locked=True)
            .filter(status__in=[CallbackRequest.Status.OPEN, CallbackRequest.Status.IN_PROGRESS], due_at__lt=now)
            .order_by("due_at")[:ESCALATION_BATCH]
        )
        for callback in overdue:
            callback.priority = _PRIORITY_UP[CallbackRequest.Priority(callback.priority)]
            callback.escalated_at = now
            callback.escalation_count += 1
            callback.due_at = now + dt.timedelta(minutes=CALLBACK_DUE_MINUTES[CallbackRequest.Priority(callback.priority)])
            callback.save(update_fields=["priority", "escalated_at", "escalation_count", "due_at", "updated_at"])
            hooks.emit(CallbackEscalated(
                callback_id=callback.pk, priority=str(callback.priority), escalation_count=callback.escalation_count,
                reason=str(callback.reason), phone=callback.phone, name=callback.name, details=callback.details,
            ))
            escalated.append(callback.pk)
    return escalated


def get_call(call_id: str) -> Call:
    call = Call.objects.filter(call_id=call_id).first()
    if call is None:
        raise NotFound(details={"call_id": call_id})
    return call
