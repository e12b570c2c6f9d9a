"""Request validation and response shapes of the booking API (seed section 5.2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.utils import html

from appointments.availability import Slot
from appointments.models import Appointment

# Values the database and the calendar arithmetic can hold: outside them a clear 400, never an
# OverflowError (9999-12-31 + 1 day) or "bigint out of range" (offset 2**63).
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)
MAX_ID = 2**63 - 1
MAX_OFFSET = 1_000_000


class ApiDateField(serializers.DateField):
    """A calendar date between 2000-01-01 and 2099-12-31."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""  # DRF would skip an empty optional form/query value silently
        return super().get_value(dictionary)

    def to_internal_value(self, value: Any) -> date:
        if value in ("", None):  # ``date_to=``: leave the parameter out instead
            raise serializers.ValidationError(_("Give a date (YYYY-MM-DD) or leave the field out."))
        parsed: date = super().to_internal_value(value)
        if parsed is None or not FIRST_DATE <= parsed <= LAST_DATE:
            raise serializers.ValidationError(
                _("Give a date between %(first)s and %(last)s.") % {"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()},
            )
        return parsed


class IdField(serializers.IntegerField):
    """A database id: a positive 64-bit integer. In form and query data, where JSON's null cannot
    be written, ``null`` (and an empty value) mean null when the field allows it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)

    def get_value(self, dictionary: Any) -> Any:
        if self.allow_null and html.is_html_input(dictionary) and dictionary.get(self.field_name) == "null":
            return None
        return super().get_value(dictionary)


class AvailabilityRequest(serializers.Serializer):
    date = ApiDateField(help_text=_("Local date at the branch (YYYY-MM-DD), 2000-01-01 to 2099-12-31."))
    days = serializers.IntegerField(required=False, default=1, min_value=1, max_value=14,
                                    help_text=_("Number of days to search from date (1-14)."))
    staff_id = IdField(required=False, allow_null=True, help_text=_("Empty: any qualified staff."))
    branch_id = IdField(required=False, allow_null=True)


class SimpleAvailabilityRequest(AvailabilityRequest):
    service_id = IdField()
    duration_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=5, max_value=720)


class SegmentRequestSerializer(serializers.Serializer):
    service_id = IdField()
    duration = serializers.IntegerField(required=False, allow_null=True, min_value=5, max_value=720,
                                        help_text=_("Minutes; empty: the service's duration."))


class CompositeAvailabilityRequest(AvailabilityRequest):
    service_id = IdField(required=False, allow_null=True,
                                          help_text=_("A composite service, or use services."))
    services = SegmentRequestSerializer(many=True, required=False, help_text=_("Services back to back."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("service_id") and not attrs.get("services"):
            raise serializers.ValidationError({"services": [_("Give service_id or a list of services.")]})
        if attrs.get("services") and len(attrs["services"]) > 6:
            raise serializers.ValidationError({"services": [_("At most 6 services.")]})
        return attrs


class CustomerInput(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    email = serializers.EmailField(required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=["de", "en"], required=False, default="de")


class BookingRequest(serializers.Serializer):
    customer_id = IdField(required=False, allow_null=True)
    customer = CustomerInput(required=False, help_text=_("Found by phone number or created."))
    service_id = IdField()
    services = SegmentRequestSerializer(many=True, required=False)
    staff_id = IdField(required=False, allow_null=True)
    branch_id = IdField(required=False, allow_null=True)
    starts_at = serializers.DateTimeField(help_text=_("ISO 8601 with offset, e.g. 2025-10-05T14:00:00+02:00."))
    source = serializers.ChoiceField(choices=["api", "phone"], required=False, default="api")
    status = serializers.ChoiceField(choices=["pending", "confirmed"], required=False, default="confirmed")
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    external_ref = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("customer_id") and not attrs.get("customer"):
            raise serializers.ValidationError({"customer_id": [_("Give customer_id or customer.")]})
        return attrs


class RescheduleRequest(serializers.Serializer):
    new_starts_at = serializers.DateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    staff_id = IdField(required=False, allow_null=True)
    version = serializers.IntegerField(required=False, allow_null=True,
                                       help_text=_("The version you read; refused if it changed since."))


class CancelRequest(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    notify_customer = serializers.BooleanField(required=False, default=True)
    version = serializers.IntegerField(required=False, allow_null=True)


class BookingListRequest(serializers.Serializer):
    date_from = ApiDateField(required=False)
    date_to = ApiDateField(required=False)
    status = serializers.ChoiceField(choices=Appointment.Status.choices, required=False)
    staff_id = IdField(required=False)
    branch_id = IdField(required=False)
    customer_id = IdField(required=False)
    source = serializers.ChoiceField(choices=Appointment.Source.choices, required=False)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=200)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)


# --- responses ------------------------------------------------------------------------------


def local(value: datetime, tz: tzinfo) -> str:
    return value.astimezone(tz).isoformat()


def slot_data(slot: Slot, tz: tzinfo | None) -> dict[str, Any]:
    tz = tz or UTC
    start, end = slot.starts_at.astimezone(tz), slot.ends_at.astimezone(tz)
    data: dict[str, Any] = {
        "date": start.date().isoformat(),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "branch_id": slot.branch_id,
        "staff_id": slot.staff_id,
        "staff_ids": list(slot.staff_ids),
    }
    if slot.segments:
        data["segments"] = [
            {
                "position": s.position,
                "name": s.name,
                "service_id": s.service_id,
                "staff_id": s.staff_id,
                "start": s.starts_at.astimezone(tz).strftime("%H:%M"),
                "end": s.ends_at.astimezone(tz).strftime("%H:%M"),
                "starts_at": local(s.starts_at, tz),
                "ends_at": local(s.ends_at, tz),
            }
            for s in slot.segments
        ]
    return data


def booking_data(appointment: Appointment) -> dict[str, Any]:
    tz = appointment.branch.tzinfo
    return {
        "id": appointment.pk,
        "status": appointment.status,
        "source": appointment.source,
        "customer": {
            "id": appointment.customer_id,
            "name": appointment.customer.name,
            "phone": appointment.customer.phone,
            "email": appointment.customer.email,
        },
        "service": {"id": appointment.service_id, "name": appointment.service.name},
        "staff": {"id": appointment.staff_id, "name": appointment.staff.name},
        "branch": {"id": appointment.branch_id, "name": appointment.branch.name, "time_zone": appointment.branch.time_zone},
        "starts_at": local(appointment.starts_at, tz),
        "ends_at": local(appointment.ends_at, tz),
        "price_cents": appointment.price_cents,
        "currency": appointment.currency,
        "notes": appointment.notes,
        "external_ref": appointment.external_ref,
        "series_id": appointment.series_id,
        "version": appointment.version,
        "segments": [
            {
                "position": s.position,
                "name": s.name,
                "service_id": s.service_id,
                "staff_id": s.staff_id,
                "starts_at": local(s.starts_at, tz),
                "ends_at": local(s.ends_at, tz),
            }
            for s in appointment.segments.all()
        ],
        "ics_url": f"/api/v2/bookings/{appointment.pk}/ics",
    }
