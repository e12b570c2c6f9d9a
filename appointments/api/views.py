"""Booking API v2 (tenant hosts): availability, bookings, reschedule, cancel, .ics download.

Views validate, authorise, call the services and shape the answer; every rule lives in
``appointments.services``. Errors come out of ``askpro.errors.api_exception_handler``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from icalendar import Calendar, Event
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments import customers, queries, services
from appointments.api import schema  # noqa: F401  (registers the auth scheme)
from appointments.api import serializers as s
from appointments.api.auth import (
    ApiKeyAuthentication,
    ApiKeyRateThrottle,
    IsApiClientOrStaff,
    actor_of,
)
from appointments.availability import SegmentRequest, plan_for
from appointments.models import Appointment, Customer

ERROR_SHAPE = inline_serializer(
    "Error",
    {
        "success": serializers.BooleanField(default=False),
        "error": inline_serializer(
            "ErrorBody",
            {"code": serializers.CharField(), "message": serializers.CharField(), "details": serializers.DictField()},
        ),
    },
)
ERRORS = {400: ERROR_SHAPE, 401: ERROR_SHAPE, 404: ERROR_SHAPE, 409: ERROR_SHAPE, 422: ERROR_SHAPE, 429: ERROR_SHAPE}


class BookingApiView(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsApiClientOrStaff]
    throttle_classes = [ApiKeyRateThrottle]


def _appointment(pk: int) -> Appointment:
    return get_object_or_404(
        Appointment.objects.select_related("customer", "service", "staff", "branch").prefetch_related("segments"),
        pk=pk,
    )


class SimpleAvailabilityView(BookingApiView):
    throttle_scope = "availability"

    @extend_schema(
        request=s.SimpleAvailabilityRequest,
        responses={200: inline_serializer("SimpleAvailability", {
            "available": serializers.BooleanField(), "slots": serializers.ListField(child=serializers.DictField())}),
            **ERRORS},
        summary="Free start times of one service",
        tags=["availability"],
    )
    def post(self, request: Request) -> Response:
        data = s.SimpleAvailabilityRequest(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        slots = services.find_slots(
            service_id=v["service_id"], date_from=v["date"], date_to=v["date"] + timedelta(days=v["days"] - 1),
            staff_id=v.get("staff_id"), branch_id=v.get("branch_id"), duration_minutes=v.get("duration_minutes"),
        )
        return Response({"available": bool(slots), "slots": [s.slot_data(slot, slot.tz) for slot in slots]})


class CompositeAvailabilityView(BookingApiView):
    throttle_scope = "availability"

    @extend_schema(
        request=s.CompositeAvailabilityRequest,
        responses={200: inline_serializer("CompositeAvailability", {
            "available": serializers.BooleanField(), "total_duration": serializers.IntegerField(),
            "slots": serializers.ListField(child=serializers.DictField())}), **ERRORS},
        summary="Start times where all segments fit back to back",
        tags=["availability"],
    )
    def post(self, request: Request) -> Response:
        data = s.CompositeAvailabilityRequest(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        sequence = [SegmentRequest(item["service_id"], item.get("duration")) for item in v.get("services") or []]
        service_id = v.get("service_id") or sequence[0].service_id
        slots = services.find_slots(
            service_id=service_id, date_from=v["date"], date_to=v["date"] + timedelta(days=v["days"] - 1),
            staff_id=v.get("staff_id"), branch_id=v.get("branch_id"), sequence=sequence or None,
        )
        if slots:
            total = int((slots[0].ends_at - slots[0].starts_at).total_seconds() // 60)
        else:
            service = queries.active_service(service_id)
            total = plan_for(service, sequence=sequence or None).total // 60
        return Response({
            "available": bool(slots),
            "total_duration": total,
            "slots": [s.slot_data(slot, slot.tz) for slot in slots],
        })


class BookingsView(BookingApiView):
    def get_throttles(self) -> list[Any]:
        self.throttle_scope = "bookings" if self.request.method == "POST" else "booking_reads"
        return super().get_throttles()

    @extend_schema(
        parameters=[s.BookingListRequest],
        responses={200: inline_serializer("BookingList", {
            "success": serializers.BooleanField(), "count": serializers.IntegerField(),
            "results": serializers.ListField(child=serializers.DictField())}), **ERRORS},
        summary="List bookings",
        operation_id="bookings_list",
        tags=["bookings"],
    )
    def get(self, request: Request) -> Response:
        data = s.BookingListRequest(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        limit, offset = v.pop("limit"), v.pop("offset")
        qs = queries.bookings(**v)
        return Response({
            "success": True,
            "count": qs.count(),
            "results": [s.booking_data(a) for a in qs[offset: offset + limit]],
        })

    @extend_schema(
        request=s.BookingRequest,
        responses={201: inline_serializer("BookingCreated", {
            "success": serializers.BooleanField(), "appointment_id": serializers.IntegerField(),
            "appointment": serializers.DictField()}), **ERRORS},
        summary="Book an appointment",
        tags=["bookings"],
    )
    def post(self, request: Request) -> Response:
        data = s.BookingRequest(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        customer_id = v.get("customer_id")
        if not customer_id:
            customer_id = customers.ensure_customer(
                **v["customer"], source=Customer.Source.ONLINE, actor=actor_of(request)
            ).pk
        sequence = [SegmentRequest(item["service_id"], item.get("duration")) for item in v.get("services") or []]
        appointment = services.book_appointment(
            customer_id=customer_id, service_id=v["service_id"], starts_at=v["starts_at"], source=v["source"],
            actor=actor_of(request), staff_id=v.get("staff_id"), branch_id=v.get("branch_id"),
            sequence=sequence or None, notes=v["notes"], external_ref=v["external_ref"], status=v["status"],
        )
        return Response(
            {"success": True, "appointment_id": appointment.pk, "appointment": s.booking_data(_appointment(appointment.pk))},
            status=201,
        )


class BookingDetailView(BookingApiView):
    def get_throttles(self) -> list[Any]:
        self.throttle_scope = "booking_changes" if self.request.method == "DELETE" else "booking_reads"
        return super().get_throttles()

    @extend_schema(
        responses={200: inline_serializer("BookingDetail", {
            "success": serializers.BooleanField(), "appointment": serializers.DictField()}), **ERRORS},
        summary="One booking",
        operation_id="bookings_retrieve",
        tags=["bookings"],
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response({"success": True, "appointment": s.booking_data(_appointment(pk))})

    @extend_schema(
        request=s.CancelRequest,
        responses={200: inline_serializer("Cancelled", {
            "success": serializers.BooleanField(), "appointment_id": serializers.IntegerField(),
            "policy_violation": serializers.BooleanField(), "policy_check": serializers.CharField(),
            "violations": serializers.ListField(child=serializers.CharField()),
            "cancellation_fee_cents": serializers.IntegerField(), "refund_eligible": serializers.BooleanField()}),
            **ERRORS},
        summary="Cancel a booking (the cancellation policy applies)",
        tags=["bookings"],
    )
    def delete(self, request: Request, pk: int) -> Response:
        data = s.CancelRequest(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.cancel_appointment(
            appointment_id=pk, reason=v["reason"], source="api", actor=actor_of(request),
            expected_version=v.get("version"), notify_customer=v["notify_customer"],
        )
        return Response({
            "success": True,
            "appointment_id": result.appointment.pk,
            "status": result.appointment.status,
            "policy_violation": result.policy.violated,
            "policy_check": result.policy.label,
            "violations": list(result.policy.violations),
            "cancellation_fee_cents": result.policy.fee_cents,
            "currency": result.appointment.currency,
            "refund_eligible": not result.policy.violated,
        })


class RescheduleView(BookingApiView):
    throttle_scope = "booking_changes"

    @extend_schema(
        request=s.RescheduleRequest,
        responses={200: inline_serializer("Rescheduled", {
            "success": serializers.BooleanField(), "appointment_id": serializers.IntegerField(),
            "old_time": serializers.CharField(), "new_time": serializers.CharField(),
            "policy_check": serializers.CharField(), "policy_violation": serializers.BooleanField(),
            "fee_cents": serializers.IntegerField(), "version": serializers.IntegerField()}), **ERRORS},
        summary="Move a booking (the reschedule policy applies)",
        tags=["bookings"],
    )
    def patch(self, request: Request, pk: int) -> Response:
        data = s.RescheduleRequest(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.reschedule_appointment(
            appointment_id=pk, new_starts_at=v["new_starts_at"], reason=v["reason"], source="api",
            actor=actor_of(request), staff_id=v.get("staff_id"), expected_version=v.get("version"),
        )
        appointment = _appointment(result.appointment.pk)
        tz = appointment.branch.tzinfo
        return Response({
            "success": True,
            "appointment_id": appointment.pk,
            "old_time": s.local(result.previous_starts_at, tz),
            "new_time": s.local(appointment.starts_at, tz),
            "policy_check": result.policy.label,
            "policy_violation": result.policy.violated,
            "violations": list(result.policy.violations),
            "fee_cents": result.policy.fee_cents,
            "version": appointment.version,
        })


class BookingIcsView(BookingApiView):
    throttle_scope = "booking_reads"

    @extend_schema(responses={(200, "text/calendar"): str}, summary="The booking as an .ics file", tags=["bookings"])
    def get(self, request: Request, pk: int) -> HttpResponse:
        appointment = _appointment(pk)
        calendar = Calendar()
        calendar.add("prodid", "-//AskPro//Booking//DE")
        calendar.add("version", "2.0")
        calendar.add("method", "PUBLISH")
        event = Event()
        event.add("uid", f"appointment-{appointment.pk}@{request.get_host().split(':')[0]}")
        event.add("dtstamp", timezone.now())
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("summary", f"{appointment.service.name} · {appointment.branch.name}")
        event.add("location", appointment.branch.address or appointment.branch.name)
        event.add("description", _("With %(staff)s") % {"staff": appointment.staff.name})
        event.add("sequence", appointment.version - 1)
        event.add("status", "CANCELLED" if appointment.status == Appointment.Status.CANCELLED else "CONFIRMED")
        calendar.add_component(event)
        response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="termin-{appointment.pk}.ics"'
        return response
