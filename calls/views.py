"""Retell endpoints: function calls the agent makes during a call, and the inbound-call webhook.

Thin: parse (calls.functions), call services/queries, answer in the agent's words.
PHASE 2 adds check-availability, collect-appointment, book/reschedule/cancel/list-appointments
on top of appointments.services (see docs/voice-agent.md).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone, translation
from django.utils.translation import pgettext
from django.views.decorators.csrf import csrf_exempt

from appointments import customers as customer_services
from appointments.models import Customer
from calls import queries, services, signatures
from calls.functions import (
    FunctionCall,
    client_ip,
    in_tenant,
    resolve_tenant,
    retell_function,
    retell_keys,
    signature_refused,
)
from calls.german_dates import local_today
from calls.models import CallbackRequest
from calls.speech import spoken_date
from tenants.models import PhoneNumber

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
    number = request_call.caller_number
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
    (dynamic variables), which agent to use, or to reject the call (suspended tenant)."""
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

