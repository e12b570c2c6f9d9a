"""The back office's calendar: the page and its JSON endpoints (tenant admin, session login).

Views parse, check the role, call ``appointments.services`` / ``calendar_queries`` and answer
JSON; every refusal is ``{"success": false, "error": {"code", "message", "details"}}`` with a
German message. Reading needs ``view_appointment``; booking, moving and status changes need the
role to be allowed to book (``add_appointment`` and ``change_appointment``): a staff member sees
the calendar read-only. Writes are CSRF-checked (a JSON 403 instead of Django's HTML page).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from appointments import calendar_queries as cq
from appointments import customers, services
from appointments.access import scope_appointments
from appointments.errors import AppointmentNotFound, InvalidBookingRequest
from appointments.models import Appointment, Customer, Service
from askpro.errors import DomainError, error_response

logger = logging.getLogger(__name__)

JsonView = Callable[..., HttpResponse]


def may_book(user: Any) -> bool:
    return bool(user.has_perm("appointments.add_appointment") and user.has_perm("appointments.change_appointment"))


def _actor(request: HttpRequest) -> str:
    return f"admin:{request.user.pk}"


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidBookingRequest(_("The request body is not valid JSON."), details={}) from None
    if not isinstance(data, dict):
        raise InvalidBookingRequest(_("The request body is not valid JSON."), details={})
    return data


def _int(value: Any, field: str, *, required: bool = True) -> int | None:
    if value in (None, ""):
        if required:
            raise InvalidBookingRequest(_("This field is missing."), details={"field": field})
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidBookingRequest(_("This value is not valid."), details={"field": field, "value": value}) from None


def calendar_api(*, write: bool = False) -> Callable[[JsonView], JsonView]:
    """Login, role and (for writes) CSRF checks with JSON answers; domain errors become JSON."""

    def decorate(view: JsonView) -> JsonView:
        @csrf_exempt  # checked below, so a failure answers JSON
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_staff):
                return error_response("AUTHENTICATION_REQUIRED", _("Please sign in again."), 401)
            if write:
                if request.method != "POST":
                    return error_response("METHOD_NOT_ALLOWED", _("This method is not allowed here."), 405)
                rejected = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, view, (), {})
                if rejected is not None:
                    return error_response("CSRF_FAILED", _("The form has expired. Reload the page."), 403)
                if not may_book(user):
                    return error_response("PERMISSION_DENIED", _("Your role may not change appointments."), 403)
            elif not user.has_perm("appointments.view_appointment"):
                return error_response("PERMISSION_DENIED", _("You may not do this."), 403)
            try:
                return view(request, *args, **kwargs)
            except DomainError as exc:
                return JsonResponse({"success": False, "error": _localised(exc)}, status=exc.http_status)

        return wrapper

    return decorate


def _localised(exc: DomainError) -> dict[str, Any]:
    """The error, with alternatives in the branch's wall time so the dialog can offer them."""
    body = exc.as_dict()
    alternatives = body["details"].get("alternatives") if isinstance(body["details"], dict) else None
    if alternatives:
        shown = []
        for alt in alternatives:
            starts = datetime.fromisoformat(alt["starts_at"])
            branch = cq.Branch.objects.filter(pk=alt.get("branch_id")).first()
            tz = branch.tzinfo if branch else timezone.get_default_timezone()
            shown.append({**alt, "start": cq.wall(starts, tz), "label": f"{starts.astimezone(tz):%d.%m. %H:%M}"})
        body["details"] = {**body["details"], "alternatives": shown}
    return body


def calendar_labels() -> dict[str, str]:
    return {
        "today": _("Today"), "day": _("Day"), "week": _("Week"), "list": _("List"),
        "prev": _("Back"), "next": _("Forward"), "no_events": _("No appointments"),
        "network": _("No connection to the server."), "failed": _("That did not work."),
        "move_refused": _("Not moved:"), "moved": _("Moved to"), "policy": _("Policy"),
        "next_free": _("Next free times"), "booked": _("Booked:"), "any_staff": _("Any free staff member"),
        "no_customer": _("No customer found: enter name and phone to create one."), "chosen": _("Customer"),
        "when": _("When"), "service": _("Service"), "staff": _("Staff member"), "customer": _("Customer"),
        "source": _("Booked via"), "call": _("call at"), "not_synced": _("not linked"), "notes": _("Notes"),
        "send_reminder": _("Send reminder"), "cancel_reason": _("Reason for the cancellation"),
        "cancel_confirm": _("Cancel appointment"), "open_record": _("Open the full record"),
        "cancelled_violation": _("Cancelled, in violation of the policy:"), "fee": _("Fee"),
        "cancelled_ok": _("Cancelled within the policy, no fee."), "status_saved": _("Status saved."),
    }


# --- the page ---------------------------------------------------------------------------------


def calendar_page(request: HttpRequest, model_admin: Any) -> HttpResponse:
    branches = cq.calendar_branches(request.user)
    branch = branches[0] if branches else None
    wanted = request.GET.get("branch")
    if wanted:
        branch = next((b for b in branches if str(b.pk) == wanted), branch)
    today = timezone.now().astimezone(branch.tzinfo).date() if branch else timezone.localdate()
    services_list = list(Service.objects.filter(is_active=True).order_by("name").values(
        "id", "name", "duration_minutes", "price_cents"))
    base = reverse("admin:appointments_appointment_calendar")
    config = {
        "api": base + "api/",
        "changelist": reverse("admin:appointments_appointment_changelist"),
        "change_url": reverse("admin:appointments_appointment_change", args=[0]).replace("/0/", "/{id}/"),
        "branches": [{"id": b.pk, "name": b.name, "time_zone": b.time_zone} for b in branches],
        "branch": branch.pk if branch else None,
        "date": request.GET.get("date") or today.isoformat(),
        "today": today.isoformat(),
        "view": request.GET.get("view") or "resourceTimeGridDay",
        "services": services_list,
        "may_book": may_book(request.user),
        "poll_seconds": 30,
        "statuses": {value: str(label) for value, label in Appointment.Status.choices},
        "labels": calendar_labels(),
    }
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Calendar"),
        "content_title": _("Calendar"),  # header: Termine › Termine › Kalender
        "model_admin": model_admin,
        "calendar_config": config,
        "branches": branches,
        "has_branch": branch is not None,
    }
    return TemplateResponse(request, "appointments/calendar.html", context)


# --- JSON endpoints ---------------------------------------------------------------------------


@calendar_api()
def feed(request: HttpRequest) -> HttpResponse:
    branch = cq.branch_for_calendar(request.GET.get("branch"), request.user)
    scope = cq.calendar_range(branch, request.GET.get("start"), request.GET.get("end"))
    staff_ids = [int(s) for s in request.GET.getlist("staff") if s.isdigit()] or None
    include_cancelled = request.GET.get("cancelled") in ("1", "true")
    return JsonResponse(cq.calendar_feed(scope, staff_ids=staff_ids, include_cancelled=include_cancelled))


@calendar_api()
def changes(request: HttpRequest) -> HttpResponse:
    branch = cq.branch_for_calendar(request.GET.get("branch"), request.user)
    return JsonResponse({"token": cq.change_token(branch)})


def _appointment(request: HttpRequest, pk: int) -> Appointment:
    """The appointment, if the login may see its branch; another branch's answers 404 like a missing one."""
    visible = scope_appointments(Appointment.objects.all(), request.user)
    appointment = visible.select_related("customer", "service", "staff", "branch").filter(pk=pk).first()
    if appointment is None:
        raise AppointmentNotFound(details={"appointment_id": pk})
    return appointment


@calendar_api()
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return JsonResponse(cq.appointment_detail(_appointment(request, pk)))


@calendar_api()
def customer_search(request: HttpRequest) -> HttpResponse:
    """Customers by phone (any notation) or by name."""
    query = (request.GET.get("q") or "").strip()
    found: list[Customer] = []
    if query:
        by_phone = customers.find_customer_by_phone(query)
        if by_phone is not None:
            found.append(by_phone)
        if len(query) >= 2 and not any(ch.isdigit() for ch in query):
            found += list(Customer.objects.filter(name__icontains=query).order_by("name")[:10])
    return JsonResponse({"customers": [
        {"id": c.pk, "name": c.name, "phone": c.phone, "email": c.email} for c in dict.fromkeys(found)
    ]})


@calendar_api(write=True)
def book(request: HttpRequest) -> HttpResponse:
    data = _body(request)
    branch = cq.branch_for_calendar(data.get("branch_id"), request.user)
    starts_at = cq.parse_wall(data.get("start") or "", branch.tzinfo)
    customer_id = _int(data.get("customer_id"), "customer_id", required=False)
    if customer_id is None:
        phone = str(data.get("phone") or "").strip()
        name = str(data.get("name") or "").strip()
        if not phone:
            raise InvalidBookingRequest(_("Choose a customer or enter a phone number."), details={"field": "phone"})
        customer, _created = customers.get_or_create_caller(
            phone, name=name, source=Customer.Source.ADMIN, actor=_actor(request))
        customer_id = customer.pk
    appointment = services.book_appointment(
        customer_id=customer_id, service_id=_int(data.get("service_id"), "service_id"),  # type: ignore[arg-type]
        starts_at=starts_at, staff_id=_int(data.get("staff_id"), "staff_id", required=False), branch_id=branch.pk,
        notes=str(data.get("notes") or "")[:2000], source=Appointment.Source.ADMIN, actor=_actor(request),
    )
    return JsonResponse({"success": True, "appointment": cq.appointment_detail(_appointment(request, appointment.pk))},
                        status=201)


@calendar_api(write=True)
def move(request: HttpRequest, pk: int) -> HttpResponse:
    data = _body(request)
    appointment = _appointment(request, pk)
    new_start = cq.parse_wall(data.get("start") or "", appointment.branch.tzinfo)
    result = services.reschedule_appointment(
        appointment_id=pk, new_starts_at=new_start, staff_id=_int(data.get("staff_id"), "staff_id", required=False),
        expected_version=_int(data.get("version"), "version", required=False),
        reason=str(data.get("reason") or _("moved in the calendar"))[:500],
        source=Appointment.Source.ADMIN, actor=_actor(request),
    )
    return JsonResponse({
        "success": True, "appointment": cq.appointment_detail(_appointment(request, pk)),
        "policy": {"violated": result.policy.violated, "label": str(result.policy.label),
                   "fee_cents": result.policy.fee_cents},
    })


@calendar_api(write=True)
def change_status(request: HttpRequest, pk: int) -> HttpResponse:
    from askpro.display import euros

    data = _body(request)
    _appointment(request, pk)  # another branch's appointment: 404 before anything changes
    to_status = str(data.get("status") or "")
    version = _int(data.get("version"), "version", required=False)
    policy = None
    if to_status == Appointment.Status.CANCELLED:
        result = services.cancel_appointment(
            appointment_id=pk, reason=str(data.get("reason") or "")[:500], expected_version=version,
            source=Appointment.Source.ADMIN, actor=_actor(request),
        )
        policy = {"violated": result.policy.violated, "label": str(result.policy.label),
                  "fee_cents": result.policy.fee_cents, "fee": euros(result.policy.fee_cents),
                  "violations": list(result.policy.violations)}
    else:
        services.transition_appointment(appointment_id=pk, to_status=to_status, expected_version=version,
                                        source=Appointment.Source.ADMIN, actor=_actor(request))
    return JsonResponse({"success": True, "appointment": cq.appointment_detail(_appointment(request, pk)), "policy": policy})


@calendar_api(write=True)
def send_reminder(request: HttpRequest, pk: int) -> HttpResponse:
    from notifications import events as notification_events
    from notifications import services as notification_services

    _appointment(request, pk)
    created = notification_services.notify_appointment_event(notification_events.REMINDER_24H, pk)
    if not created:
        return JsonResponse({"success": True, "queued": 0,
                             "message": _("A reminder for this appointment was already sent.")})
    return JsonResponse({"success": True, "queued": len(created), "message": _("Reminder queued.")})
