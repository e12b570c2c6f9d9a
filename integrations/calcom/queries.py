"""Reads of the Cal.com sync: the tenant's connection, mappings and the sync row of a booking uid."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from appointments.models import Appointment
from integrations.calcom.client import Attendee, Booking, CalcomClient
from integrations.calcom.errors import CalcomNotConnected
from integrations.calcom.models import (
    BookingSync,
    CalcomConnection,
    DriftRecord,
    EventTypeMapping,
    StaffMapping,
    SyncState,
)

ACTIVE_REMOTE = ("accepted", "pending")
CANCELLED_REMOTE = ("cancelled", "rejected")
# Local statuses whose time and status are compared with Cal.com (the others already happened).
COMPARED_LOCAL = (Appointment.Status.PENDING, Appointment.Status.CONFIRMED, Appointment.Status.CANCELLED)


def active_connection() -> CalcomConnection | None:
    """The schema's Cal.com connection when it is active and has an API key."""
    connection = CalcomConnection.objects.filter(is_active=True).first()
    return connection if connection is not None and connection.api_key else None


def require_connection() -> CalcomConnection:
    connection = active_connection()
    if connection is None:
        raise CalcomNotConnected()
    return connection


def client_for(connection: CalcomConnection) -> CalcomClient:
    return CalcomClient(connection.api_key, connection.api_url)


def event_type_mapping(service_id: int) -> EventTypeMapping | None:
    return EventTypeMapping.objects.filter(service_id=service_id).first()


def service_for_event_type(event_type_id: int | None) -> EventTypeMapping | None:
    if event_type_id is None:
        return None
    return EventTypeMapping.objects.select_related("service").filter(event_type_id=event_type_id).first()


def staff_for_hosts(host_user_ids: tuple[int, ...]) -> int | None:
    """The AskPro staff id of the first mapped Cal.com host."""
    for user_id in host_user_ids:
        staff_id = StaffMapping.objects.filter(calcom_user_id=user_id).values_list("staff_id", flat=True).first()
        if staff_id is not None:
            return int(staff_id)
    return None


def is_pushable(appointment: Appointment) -> bool:
    """Cal.com is told about an appointment when its service and staff member are mapped."""
    return (
        EventTypeMapping.objects.filter(service_id=appointment.service_id).exists()
        and StaffMapping.objects.filter(staff_id=appointment.staff_id).exists()
    )


def sync_of_uid(uid: str, *, lock: bool = False) -> tuple[BookingSync | None, bool]:
    """The sync row that holds ``uid`` (current or superseded) and whether ``uid`` is superseded."""
    rows: QuerySet[BookingSync] = BookingSync.objects.all()
    if lock:
        rows = rows.select_for_update(of=("self",))
    sync = rows.filter(booking_uid=uid).first()
    if sync is not None:
        return sync, False
    sync = rows.filter(previous_uids__contains=[uid]).first()
    return sync, sync is not None


def open_drift(*, appointment_id: int | None, booking_uid: str, field: str) -> DriftRecord | None:
    """The unresolved record for this appointment (or, without one, this booking) and field."""
    rows = DriftRecord.objects.select_for_update().filter(
        field=field, state__in=(DriftRecord.State.DRIFT, DriftRecord.State.MANUAL_REVIEW)
    )
    if appointment_id is not None:
        rows = rows.filter(appointment_id=appointment_id)
    else:
        rows = rows.filter(appointment__isnull=True, booking_uid=booking_uid)
    return rows.order_by("pk").first()


def attendee_of(appointment: Appointment) -> Attendee:
    customer = appointment.customer
    return Attendee(
        name=customer.name or customer.phone or customer.email or "Kunde",
        email=customer.email, phone_number=customer.phone,
        time_zone=str(appointment.branch.time_zone or "Europe/Berlin"),
        language=customer.language or "de",
    )


def attendee_difference(appointment: Appointment, booking: Booking) -> tuple[dict[str, str], dict[str, str]] | None:
    """The two attendees when they are not the same person: email, else phone, else name decides."""
    if not booking.attendees:
        return None
    remote = booking.attendees[0]
    customer = appointment.customer
    local = {"name": customer.name, "email": customer.email, "phone": customer.phone}
    theirs = {"name": remote.name, "email": remote.email, "phone": remote.phone_number}
    if customer.email and remote.email:
        same = customer.email.strip().lower() == remote.email.strip().lower()
    elif customer.phone and remote.phone_number:
        from appointments.customers import normalize_phone

        same = customer.phone == normalize_phone(remote.phone_number)
    else:
        same = " ".join(customer.name.lower().split()) == " ".join(remote.name.lower().split())
    return None if same else (local, theirs)


def due_pushes(now: datetime) -> QuerySet[BookingSync]:
    """Pushes waiting for their (re)try: pending or failed with a due next attempt."""
    return BookingSync.objects.filter(
        Q(state=SyncState.PENDING) | Q(state=SyncState.FAILED),
        next_push_at__isnull=False, next_push_at__lte=now,
    )
