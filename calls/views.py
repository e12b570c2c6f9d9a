"""Retell endpoints: function calls the agent makes during a call, and the inbound-call webhook.

Thin: parse (calls.functions, calls.function_args), call services/queries, answer in the
agent's words. Scheduling goes through appointments.services (see docs/voice-agent.md).
"""

from __future__ import annotations

import json
import logging
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone, translation
from django.utils.translation import pgettext
from django.views.decorators.csrf import csrf_exempt

from appointments import customers as customer_services
from appointments.availability import plan_for
from appointments.errors import SlotUnavailable
from appointments.models import Appointment, Branch, Customer, Service, Staff
from askpro.errors import DomainError
from calls import function_args, queries, services, signatures, speech
from calls.errors import AppointmentAmbiguous, AppointmentNotFound, PhoneMissing
from calls.function_args import BRANCH_ARGS, SERVICE_ARGS, STAFF_ARGS, When
from calls.functions import (
    FunctionCall,
    client_ip,
    in_tenant,
    once_per_call,
    resolve_tenant,
    retell_function,
    retell_keys,
    signature_refused,
    spoken_error,
    stored_answer,
)
from calls.german_dates import local_today
from calls.models import CallbackRequest
from calls.speech import spoken_date
from tenants.models import PhoneNumber
from tenants.voice import voice_block

logger = logging.getLogger(__name__)


@retell_function("check_customer")
def check_customer(request_call: FunctionCall) -> dict[str, Any]:
    """Identify the caller by phone number; a first-time caller becomes a lead."""
    number = request_call.caller_number
    name = str(request_call.arg("name", "customer_name", default="")).strip()
    services.ensure_call(request_call.call_id, request_call.call)
    if number is None:
        return {
            "success": True, "customer_found": False, "customer_id": None,
            "message": pgettext("voice", "Ich sehe Ihre Nummer leider nicht. Unter welcher Telefonnummer erreichen wir Sie?"),
        }
    customer, created = customer_services.get_or_create_caller(number, name=name, actor=request_call.actor)
    services.link_customer_to_call(request_call.call_id, customer.pk)
    summary = queries.customer_summary(customer)
    answer: dict[str, Any] = {
        "success": True,
        "customer_found": not created and bool(customer.name or summary.appointment_count),
        "is_new_customer": created,
        "customer_id": customer.pk,
        "customer_name": customer.name,
        "journey_status": customer.journey_status,
        "is_vip": customer.journey_status == Customer.Journey.VIP,
        "appointment_count": summary.appointment_count,
        "no_show_count": summary.no_show_count,
        "last_appointment": summary.last_appointment.isoformat() if summary.last_appointment else None,
        "next_appointment": queries.describe_appointment(summary.next_appointment) if summary.next_appointment else None,
        # Only notes meant for everyone: never medical, staff-only or management notes (appointments.crm).
        "customer_notes": queries.notes_for_the_agent(customer),
    }
    if not customer.name:
        answer["message"] = pgettext("voice", "Ich habe Sie noch nicht in unserer Kundenliste. Wie ist Ihr Name?")
    elif summary.next_appointment is not None:
        answer["message"] = pgettext("voice", "Hallo %(name)s! Ihr nächster Termin ist am %(next)s.") % {
            "name": customer.name, "next": answer["next_appointment"]["spoken"],
        }
    else:
        answer["message"] = pgettext("voice", "Hallo %(name)s, schön, dass Sie anrufen.") % {"name": customer.name}
    return answer


@retell_function("request_callback")
def request_callback(request_call: FunctionCall) -> dict[str, Any]:
    """Queue a callback when the agent cannot help (no slot, the caller wants a person)."""
    number = request_call.callback_number
    if number is None:
        return {
            "success": False, "error": {"code": "PHONE_MISSING", "message": "phone_number missing", "details": {}},
            "message": pgettext("voice", "Unter welcher Nummer dürfen wir Sie zurückrufen?"),
        }
    priority = str(request_call.arg("priority", default=CallbackRequest.Priority.NORMAL))
    if priority not in CallbackRequest.Priority.values:
        priority = CallbackRequest.Priority.NORMAL
    callback, created = services.request_callback(
        phone=number,
        reason=str(request_call.arg("reason", default=CallbackRequest.Reason.OTHER)),
        priority=priority,
        name=str(request_call.arg("name", "customer_name", default="")),
        details=str(request_call.arg("details", "notes", "message", default="")),
        call_id=request_call.call_id,
    )
    return {
        "success": True, "callback_id": callback.pk, "created": created, "priority": callback.priority,
        "message": pgettext("voice", "Alles klar, ich habe einen Rückruf für Sie notiert. Wir melden uns so bald wie möglich."),
    }


# --- inbound call webhook -----------------------------------------------------------------


def _inbound(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("call_inbound")
    return data if isinstance(data, dict) else {}


@csrf_exempt
def inbound_call(request: HttpRequest) -> JsonResponse:
    """``POST /webhooks/retell/inbound``: before answering a call, tell Retell who is calling
    (dynamic variables), which agent to use, or to reject the call (suspended tenant, calls
    blocked because the balance is used up)."""
    if request.method != "POST":
        return JsonResponse({"success": False, "error": {"code": "METHOD_NOT_ALLOWED", "message": "POST only", "details": {}}}, status=405)
    raw = request.body
    try:
        body = json.loads(raw or b"null")
        data = _inbound(body)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return JsonResponse({"success": False, "error": {"code": "MALFORMED_REQUEST", "message": "invalid JSON", "details": {}}}, status=400)
    if settings.RETELL_ALLOWED_IPS and client_ip(request) not in settings.RETELL_ALLOWED_IPS:
        return JsonResponse({"success": False, "error": {"code": "IP_NOT_ALLOWED", "message": "not allowed", "details": {}}}, status=403)
    call = {"agent_id": data.get("agent_id"), "to_number": data.get("to_number")}
    tenant = resolve_tenant(request, call, {})
    if tenant is None:
        try:
            signatures.verify(raw, request.headers.get("X-Retell-Signature"), retell_keys())
        except signatures.SignatureInvalid as exc:
            return signature_refused(request, "inbound", str(exc))
        logger.warning("inbound call to unknown number %s / agent %s", data.get("to_number"), data.get("agent_id"))
        return JsonResponse({"call_inbound": {}})
    with in_tenant(tenant), translation.override("de"):
        try:
            signatures.verify(raw, request.headers.get("X-Retell-Signature"), retell_keys())
        except signatures.SignatureInvalid as exc:
            return signature_refused(request, "inbound", str(exc))
        if not tenant.is_active:
            return JsonResponse({"call_inbound": {"reject": True}})
        blocked = voice_block(tenant.pk)
        if blocked is not None:
            # Retell accepts nothing beside ``reject`` (any other field could void it); the reason
            # is logged and shown in the admin ("calls accepted").
            logger.info("inbound call to %s rejected: %s", tenant.slug, blocked)
            return JsonResponse({"call_inbound": {"reject": True}})
        return JsonResponse({"call_inbound": inbound_answer(tenant, data)}, json_dumps_params={"ensure_ascii": False})


def inbound_answer(tenant: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The ``call_inbound`` object for an active tenant (read-only, deterministic)."""
    now = timezone.now()
    caller = customer_services.normalize_phone(data.get("from_number"))
    to_number = customer_services.normalize_phone(data.get("to_number"))
    customer = customer_services.find_customer_by_phone(caller) if caller else None
    upcoming = queries.next_appointment(customer, now=now) if customer else None
    variables = {
        "company_name": queries.company_name(tenant),
        "caller_known": "true" if customer is not None and customer.name else "false",
        "caller_name": customer.name if customer else "",
        "customer_id": str(customer.pk) if customer else "",
        "caller_number": caller or "",
        "next_appointment": queries.describe_appointment(upcoming)["spoken"] if upcoming else "",
        "next_appointment_at": upcoming.starts_at.astimezone(upcoming.branch.tzinfo).isoformat() if upcoming else "",
        "opening_hours_today": queries.opening_hours_today(tenant, now=now),
        "today": spoken_date(local_today(tenant.tzinfo, now), with_year=True),
    }
    answer: dict[str, Any] = {
        "dynamic_variables": variables,
        "metadata": {"tenant": tenant.slug, "customer_id": customer.pk if customer else None},
    }
    if to_number:
        override = (
            PhoneNumber.objects.filter(number=to_number, tenant_id=tenant.pk, is_active=True)
            .exclude(inbound_agent_id="")
            .values_list("inbound_agent_id", flat=True)
            .first()
        )
        if override:
            answer["override_agent_id"] = override
    return answer



# --- scheduling: check-availability, collect, book, reschedule, cancel, list ----------------------


@dataclass(frozen=True)
class Wish:
    """What the caller asked for, resolved: service, maybe staff and branch, day and maybe time."""

    service: Service
    staff: Staff | None
    branch: Branch | None
    branches: dict[int, Branch]
    tz: zoneinfo.ZoneInfo
    when: When
    duration_minutes: int | None

    @property
    def plan_kwargs(self) -> dict[str, Any]:
        return {"staff_id": self.staff.pk if self.staff else None, "branch_id": self.branch.pk if self.branch else None}


def _zone(branch: Branch | None, branches: dict[int, Branch], tenant: Any) -> zoneinfo.ZoneInfo:
    """The zone German words are read in: the branch's, the branches' common one, else the tenant's."""
    if branch is not None:
        return branch.tzinfo
    zones = {item.time_zone for item in branches.values()}
    return zoneinfo.ZoneInfo(zones.pop()) if len(zones) == 1 else tenant.tzinfo


def _wish(request_call: FunctionCall, *, require_time: bool) -> Wish:
    service = function_args.resolve_service(request_call.arg(*SERVICE_ARGS))
    staff = function_args.resolve_staff(request_call.arg(*STAFF_ARGS), service=service)
    branch, branches = function_args.resolve_branch_or_any(request_call.arg(*BRANCH_ARGS))
    tz = _zone(branch, branches, request_call.tenant)
    branch_ids = [branch.pk] if branch is not None else list(branches)
    when = function_args.resolve_when(request_call.arg, tz=tz, require_time=require_time,
                                      hours=lambda day: function_args.opening_span(day, branch_ids))
    duration = function_args.duration_arg(request_call.arg("duration_minutes", "duration"))
    return Wish(service, staff, branch, branches, tz, when, duration)


def _availability(wish: Wish, *, ignore_appointment_id: int | None = None) -> queries.Availability:
    return queries.availability(
        plan_for(wish.service, duration_minutes=wish.duration_minutes), day=wish.when.day,
        requested=wish.when.starts_at, branches=wish.branches, ignore_appointment_id=ignore_appointment_id,
        until=wish.when.until, window=wish.when.window,
        staff_names=function_args.catalog().staff_names, **wish.plan_kwargs,
    )


def _service_dict(service: Service) -> dict[str, Any]:
    return {"id": service.pk, "name": service.name, "duration_minutes": service.duration_minutes,
            "price_cents": service.price_cents, "currency": service.currency}


def _availability_message(found: queries.Availability, tz: zoneinfo.ZoneInfo, when: When | None = None) -> str:
    alternatives = [offer.starts_at for offer in found.alternatives]
    if found.offer is not None:
        return speech.slot_free_at(found.offer.starts_at, found.offer.tz, found.offer.staff)
    if when is not None and (when.until is not None or when.window is not None):
        # a range of days or a part of the day: say the free times with their days
        if found.day_offers:
            return speech.wish_options([offer.starts_at for offer in found.day_offers], found.day_offers[0].tz)
        return speech.wish_full_with_alternatives(alternatives, tz)
    if found.day_offers:
        return speech.day_options(found.day, [offer.starts_at for offer in found.day_offers], found.day_offers[0].tz)
    if found.closed is not None:  # closed, not "schon belegt"
        return speech.closed_with_alternatives(found.day, found.closed.holiday, alternatives, tz)
    if found.requested is not None:
        return speech.slot_taken_with_alternatives(found.requested, alternatives, tz)
    return speech.day_full_with_alternatives(found.day, alternatives, tz)


def _availability_answer(wish: Wish, found: queries.Availability) -> dict[str, Any]:
    first = found.offer or (found.day_offers[0] if found.day_offers else None)
    return {
        "success": True,
        "available": found.available,
        "requested": wish.when.echo(wish.tz),
        "service": _service_dict(wish.service),
        "slot": found.offer.as_dict() if found.offer else None,
        "free_times": [offer.as_dict() for offer in found.day_offers],
        "staff_name": first.staff if first else None,
        "branch_name": first.branch if first else None,
        "alternatives": [offer.as_dict() for offer in found.alternatives],
        "message": _availability_message(found, wish.tz, wish.when),
    }


@retell_function("check_availability")
def check_availability(request_call: FunctionCall) -> dict[str, Any]:
    """Is the wished time free? Otherwise the next three free times over the following days."""
    wish = _wish(request_call, require_time=False)
    return _availability_answer(wish, _availability(wish))


def _caller_name(request_call: FunctionCall) -> str:
    return " ".join(str(request_call.arg("name", "customer_name", "caller_name", default="")).split())[:200]


@retell_function("collect_appointment")
def collect_appointment(request_call: FunctionCall) -> dict[str, Any]:
    """Validate and summarise the booking wish before the caller confirms it; writes nothing."""
    wish = _wish(request_call, require_time=True)
    found = _availability(wish)
    answer = _availability_answer(wish, found)
    customer = queries.caller_customer(request_call.call_id, request_call.caller_number)
    name = (customer.name if customer and customer.name else "") or _caller_name(request_call)
    missing = [] if name else ["name"]
    answer.update({"ready": found.offer is not None and not missing, "missing": missing, "customer_name": name,
                   "customer_known": customer is not None})
    if found.offer is None:
        return answer
    if missing:
        answer["message"] = pgettext("voice", "Auf welchen Namen darf ich den Termin eintragen?")
        return answer
    offer = found.offer
    answer["message"] = speech.summary(wish.service.name, offer.starts_at, offer.tz, staff=offer.staff,
                                       branch=offer.branch if len(wish.branches) > 1 else "", name=name)
    return answer


def _alternatives_error(error: SlotUnavailable, found: queries.Availability, tz: zoneinfo.ZoneInfo) -> dict[str, Any]:
    answer = spoken_error(error)
    answer.update({
        "available": False,
        "alternatives": [offer.as_dict() for offer in found.alternatives],
        "message": _availability_message(found, tz),
    })
    return answer


def _booking_refusal(error: DomainError, *, cancellation: bool = False) -> dict[str, Any]:
    """A refusal of the booking domain, said in German (its own messages are for the admin)."""
    spoken = {
        "POLICY_VIOLATION": pgettext("voice", "Eine Absage ist so kurzfristig leider nicht mehr möglich.")
        if cancellation else pgettext("voice", "Eine Verschiebung ist so kurzfristig leider nicht mehr möglich."),
        "INVALID_TRANSITION": pgettext("voice", "Dieser Termin kann leider nicht mehr geändert werden."),
        "STALE_APPOINTMENT": pgettext("voice", "Der Termin wurde gerade geändert. Ich schaue noch einmal nach."),
        "APPOINTMENT_NOT_FOUND": pgettext("voice", "Diesen Termin finde ich leider nicht."),
        "INVALID_BOOKING_REQUEST": pgettext("voice", "So kann ich den Termin leider nicht eintragen."),
    }.get(error.code)
    answer = spoken_error(error)
    if spoken:
        if error.code == "POLICY_VIOLATION":
            spoken += " " + pgettext("voice", "Soll ich einen Rückruf vom Team für Sie notieren?")
        answer["message"] = spoken
    return answer


def _customer_for_booking(request_call: FunctionCall) -> Customer:
    """The caller's customer record (a first-time caller becomes a lead; a given name fills an empty one).

    The caller ID decides; a different stated number is used only for a new caller (neither
    number known yet), never to book in the name of an existing customer."""
    number = request_call.caller_number
    stated = request_call.stated_number
    if request_call.caller_id and stated and stated != request_call.caller_id and (
        customer_services.find_customer_by_phone(request_call.caller_id) is None
        and customer_services.find_customer_by_phone(stated) is None
    ):
        number = stated
    name = _caller_name(request_call)
    if number:
        caller, _created = customer_services.get_or_create_caller(number, name=name, actor=request_call.actor)
        return caller
    customer = queries.caller_customer(request_call.call_id, None)
    if customer is None:
        raise PhoneMissing(
            pgettext("voice", "Unter welcher Telefonnummer erreichen wir Sie?"), details={"missing": "phone_number"},
        )
    if name:
        customer_services.fill_customer_name(customer.pk, name)
    return customer


def _described(booked: Appointment, wish: Wish) -> Appointment:
    """The booked appointment with its service, staff and branch for the answer, from the
    catalogue the wish was matched against (no query), or read when the catalogue lacks them."""
    branch = wish.branches.get(booked.branch_id)
    staff_name = function_args.catalog().staff_names.get(booked.staff_id)
    if branch is None or staff_name is None or booked.service_id != wish.service.pk:
        return Appointment.objects.select_related("service", "staff", "branch").get(pk=booked.pk)
    booked.service, booked.branch = wish.service, branch
    booked.staff = Staff(pk=booked.staff_id, name=staff_name)  # read-only, for its name
    return booked


@retell_function("book_appointment")
def book_appointment(request_call: FunctionCall) -> dict[str, Any]:
    """Book the wished time for the caller, once per call and arguments (a retry replays the answer)."""
    wish = _wish(request_call, require_time=True)
    starts_at = wish.when.starts_at
    assert starts_at is not None

    def book() -> dict[str, Any]:
        earlier = queries.booked_in_call(request_call.call_id, service_id=wish.service.pk, starts_at=starts_at)
        if earlier is not None:  # "10.30" after "10:30": the same booking, not a second one
            return {
                "success": True, "already_booked": True, "appointment_id": earlier.pk,
                "customer_id": earlier.customer_id, "appointment": queries.describe_appointment(earlier),
                "message": speech.already_booked(earlier.starts_at, earlier.branch.tzinfo, earlier.service.name,
                                                 earlier.staff.name),
            }
        customer = _customer_for_booking(request_call)
        booked = services.book_for_call(
            call_id=request_call.call_id, customer_id=customer.pk, service_id=wish.service.pk,
            starts_at=starts_at, duration_minutes=wish.duration_minutes, journey_status=customer.journey_status,
            notes=str(request_call.arg("notes", "customer_notes", "notiz", default=""))[:2000], **wish.plan_kwargs,
        )
        appointment = _described(booked, wish)
        return {
            "success": True, "already_booked": False, "appointment_id": appointment.pk, "customer_id": customer.pk,
            "appointment": queries.describe_appointment(appointment),
            "message": speech.booked(appointment.starts_at, appointment.branch.tzinfo, appointment.service.name,
                                     appointment.staff.name),
        }

    try:
        return once_per_call(request_call.call_id, "book_appointment", request_call.args, book)
    except SlotUnavailable as taken:
        return _alternatives_error(taken, _availability(wish), wish.tz)
    except DomainError as refused:
        if refused.code in ("INVALID_BOOKING_REQUEST",):
            return _booking_refusal(refused)
        raise


def _entries(appointments: list[Appointment]) -> list[str]:
    return [queries.spoken_appointment(item) for item in appointments]


def _callers_appointment(request_call: FunctionCall) -> Appointment:
    """The appointment the caller means: the given id among their own upcoming ones, the one
    on the named date, or the only one; several -> a question, none -> a spoken not-found."""
    customer = queries.caller_customer(request_call.call_id, request_call.caller_number)
    upcoming = queries.upcoming_appointments(customer, limit=10) if customer else []
    not_found = AppointmentNotFound(pgettext("voice", "Ich finde unter Ihrer Nummer keinen anstehenden Termin."),
                                    details={"customer_found": customer is not None})
    if not upcoming:
        raise not_found
    wanted = request_call.arg("appointment_id", "booking_id")
    if wanted not in (None, ""):
        chosen = [item for item in upcoming if str(item.pk) == str(wanted).strip()]
        if not chosen:
            raise not_found
        return chosen[0]
    on_date = request_call.arg("current_date", "appointment_date", "old_date")
    if on_date not in (None, "") and len(upcoming) > 1:
        try:
            day = function_args.parse_date(str(on_date), today=local_today(upcoming[0].branch.tzinfo))
        except DomainError:
            day = None
        same_day = [item for item in upcoming if item.starts_at.astimezone(item.branch.tzinfo).date() == day]
        upcoming = same_day or upcoming
    if len(upcoming) == 1:
        return upcoming[0]
    raise AppointmentAmbiguous(speech.which_appointment(_entries(upcoming)), details={
        "candidates": [queries.describe_appointment(item) for item in upcoming],
    })


@retell_function("list_appointments")
def list_appointments(request_call: FunctionCall) -> dict[str, Any]:
    """The caller's upcoming appointments, to say and to pick from."""
    customer = queries.caller_customer(request_call.call_id, request_call.caller_number)
    upcoming = queries.upcoming_appointments(customer) if customer else []
    return {
        "success": True, "customer_found": customer is not None, "count": len(upcoming),
        "appointments": [queries.describe_appointment(item) for item in upcoming],
        "message": speech.appointment_list(_entries(upcoming)),
    }


@retell_function("reschedule_appointment")
def reschedule_appointment(request_call: FunctionCall) -> dict[str, Any]:
    """Move the caller's appointment to the wished time (reschedule policy applies), once per
    call and arguments."""
    replay = stored_answer(request_call.call_id, "reschedule_appointment", request_call.args)
    if replay is not None:
        return replay
    appointment = _callers_appointment(request_call)
    branch = appointment.branch
    staff_query = request_call.arg(*STAFF_ARGS)
    staff = function_args.resolve_staff(staff_query, service=appointment.service) if staff_query else None
    when = function_args.resolve_when(request_call.arg, tz=branch.tzinfo, require_time=True,
                                      hours=lambda day: function_args.opening_span(day, [branch.pk]))
    assert when.starts_at is not None
    new_starts_at = when.starts_at

    def move() -> dict[str, Any]:
        result = services.reschedule_for_call(
            call_id=request_call.call_id, appointment_id=appointment.pk, new_starts_at=new_starts_at,
            staff_id=staff.pk if staff else None, reason=str(request_call.arg("reason", "grund", default=""))[:500],
        )
        moved = Appointment.objects.select_related("service", "staff", "branch").get(pk=result.appointment.pk)
        message = speech.rescheduled(moved.starts_at, branch.tzinfo, moved.service.name, moved.staff.name)
        if result.policy.fee_cents:
            message += " " + speech.fee_notice(result.policy.fee_cents, moved.currency, cancellation=False)
        return {
            "success": True, "appointment_id": moved.pk, "appointment": queries.describe_appointment(moved),
            "previous_starts_at": result.previous_starts_at.astimezone(branch.tzinfo).isoformat(),
            "policy_violation": result.policy.violated, "fee_cents": result.policy.fee_cents, "message": message,
        }

    try:
        return once_per_call(request_call.call_id, "reschedule_appointment", request_call.args, move)
    except SlotUnavailable as taken:
        wish = Wish(appointment.service, staff or appointment.staff, branch, {branch.pk: branch}, branch.tzinfo,
                    when, None)
        return _alternatives_error(taken, _availability(wish, ignore_appointment_id=appointment.pk), branch.tzinfo)
    except DomainError as refused:
        if refused.code in ("POLICY_VIOLATION", "INVALID_TRANSITION", "STALE_APPOINTMENT", "APPOINTMENT_NOT_FOUND"):
            return _booking_refusal(refused)
        raise


@retell_function("cancel_appointment")
def cancel_appointment(request_call: FunctionCall) -> dict[str, Any]:
    """Cancel the caller's appointment under the cancellation policy (a fee is said out loud),
    once per call and arguments."""
    replay = stored_answer(request_call.call_id, "cancel_appointment", request_call.args)
    if replay is not None:
        return replay
    appointment = _callers_appointment(request_call)

    def cancel() -> dict[str, Any]:
        result = services.cancel_for_call(
            call_id=request_call.call_id, appointment_id=appointment.pk,
            reason=str(request_call.arg("reason", "grund", default=""))[:500],
        )
        message = speech.cancelled(appointment.starts_at, appointment.branch.tzinfo, appointment.service.name)
        if result.policy.fee_cents:
            message += " " + speech.fee_notice(result.policy.fee_cents, appointment.currency, cancellation=True)
        return {
            "success": True, "appointment_id": appointment.pk, "status": result.appointment.status,
            "policy_violation": result.policy.violated, "fee_cents": result.policy.fee_cents,
            "currency": appointment.currency, "message": message,
        }

    try:
        return once_per_call(request_call.call_id, "cancel_appointment", request_call.args, cancel)
    except DomainError as refused:
        if refused.code in ("POLICY_VIOLATION", "INVALID_TRANSITION", "STALE_APPOINTMENT", "APPOINTMENT_NOT_FOUND"):
            return _booking_refusal(refused, cancellation=True)
        raise
