from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from appointments.customers import InvalidPhoneNumber, ensure_customer
from appointments.errors import InvalidBookingRequest, SlotUnavailable
from appointments.models import Appointment, AppointmentSegment, Service, ServiceSegment
from appointments.services import book_appointment, reschedule_appointment
from tests.appointments.conftest import MONDAY, NOW
from tests.fixtures.appointments import berlin


def _book(customer, service, staff, hhmm, day=MONDAY, **kwargs):
    return book_appointment(
        customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk if staff else None,
        starts_at=berlin(day, hhmm), source=kwargs.pop("source", "admin"), actor="admin:7", now=NOW, **kwargs,
    )


def _utc(hhmm: str, plus: int = 0) -> str:
    return (berlin(MONDAY, hhmm) + timedelta(minutes=plus)).astimezone(UTC).isoformat()


def test_booking_a_free_slot_stores_the_appointment_its_segment_and_emits_booked(
    anna, haarschnitt, customer_erika, branch_mitte, events, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(customer_erika, haarschnitt, anna, "10:00", source="phone")

    # then
    appointment.refresh_from_db()
    assert (appointment.staff_id, appointment.branch_id, appointment.status, appointment.source) == (
        anna.pk, branch_mitte.pk, "confirmed", "phone")
    assert appointment.starts_at == berlin(MONDAY, "10:00")
    assert appointment.ends_at == berlin(MONDAY, "10:30")
    assert (appointment.price_cents, appointment.currency, appointment.version) == (3500, "EUR", 1)
    segment = appointment.segments.get()
    assert (segment.staff_id, segment.blocked_from, segment.blocked_until, segment.status) == (
        anna.pk, berlin(MONDAY, "10:00"), berlin(MONDAY, "10:30"), "confirmed")
    assert [(e.event_name, asdict(e)) for e in events] == [
        ("appointment.booked", {"appointment_id": appointment.pk, "source": "phone", "actor": "admin:7",
                                "series_id": None, "notify_customer": True})]
    assert appointment.history.count() == 1


def test_booking_a_taken_slot_raises_slot_unavailable_with_the_next_free_alternatives(
    anna, haarschnitt, customer_erika, events, django_capture_on_commit_callbacks
):
    # given
    first = _book(customer_erika, haarschnitt, anna, "10:00")

    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SlotUnavailable) as refused:
        _book(customer_erika, haarschnitt, anna, "10:15")

    # then
    assert refused.value.code == "SLOT_UNAVAILABLE"
    assert refused.value.details["alternatives"] == [
        {"starts_at": _utc(hhmm), "ends_at": _utc(hhmm, plus=30), "staff_id": anna.pk, "branch_id": anna.branches.get().pk}
        for hhmm in ("10:30", "10:45", "11:00")
    ]
    assert Appointment.objects.count() == 1
    assert AppointmentSegment.objects.count() == 1
    assert [e.appointment_id for e in events] == [first.pk]  # the refused booking emitted nothing


def test_any_staff_booking_takes_whoever_is_free(anna, ben, haarschnitt, customer_erika):
    # given Anna is booked at 10:00
    _book(customer_erika, haarschnitt, anna, "10:00")

    # when
    appointment = _book(customer_erika, haarschnitt, None, "10:00")

    # then
    assert appointment.staff_id == ben.pk


def test_booking_outside_working_hours_is_refused(anna, haarschnitt, customer_erika):
    with pytest.raises(SlotUnavailable):
        _book(customer_erika, haarschnitt, anna, "12:00")  # lunch break
    with pytest.raises(SlotUnavailable):
        _book(customer_erika, haarschnitt, anna, "17:45")  # would end after 18:00
    assert Appointment.objects.count() == 0


def test_an_import_may_skip_working_hours_but_never_double_book(anna, haarschnitt, customer_erika):
    # given a Cal.com booking at 20:00, outside Anna's hours
    imported = _book(customer_erika, haarschnitt, anna, "20:00", source="calcom", check_availability=False,
                     external_ref="cal-uid-1")

    # when a second import overlaps it
    with pytest.raises(SlotUnavailable):
        _book(customer_erika, haarschnitt, anna, "20:15", source="calcom", check_availability=False)

    # then
    assert list(Appointment.objects.values_list("pk", flat=True)) == [imported.pk]


def test_the_database_refuses_overlapping_segments_of_one_staff_member_even_without_the_services(
    anna, haarschnitt, customer_erika
):
    # given
    booked = _book(customer_erika, haarschnitt, anna, "10:00")
    other = Appointment.objects.create(
        customer=customer_erika, service=haarschnitt, staff=anna, branch=booked.branch,
        starts_at=berlin(MONDAY, "15:00"), ends_at=berlin(MONDAY, "15:30"),
    )

    # when / then
    with pytest.raises(IntegrityError, match="no_double_booking"), transaction.atomic():
        AppointmentSegment.objects.create(
            appointment=other, service=haarschnitt, staff=anna, status="confirmed",
            starts_at=berlin(MONDAY, "10:15"), ends_at=berlin(MONDAY, "10:45"),
            blocked_from=berlin(MONDAY, "10:15"), blocked_until=berlin(MONDAY, "10:45"),
        )


def test_a_raw_appointment_insert_gets_its_segment_at_commit_and_is_checked_then(
    anna, haarschnitt, customer_erika
):
    # given
    booked = _book(customer_erika, haarschnitt, anna, "10:00")

    # when an appointment is written around the services, the deferred trigger adds its segment
    raw = Appointment.objects.create(
        customer=customer_erika, service=haarschnitt, staff=anna, branch=booked.branch,
        starts_at=berlin(MONDAY, "11:00"), ends_at=berlin(MONDAY, "11:30"),
    )
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS appointments_ensure_segment IMMEDIATE")
    assert raw.segments.get().blocked_until == berlin(MONDAY, "11:30")

    # then an overlapping raw write fails
    with pytest.raises(IntegrityError, match="no_double_booking"), transaction.atomic():
        Appointment.objects.create(
            customer=customer_erika, service=haarschnitt, staff=anna, branch=booked.branch,
            starts_at=berlin(MONDAY, "11:15"), ends_at=berlin(MONDAY, "11:45"),
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS appointments_ensure_segment IMMEDIATE")


def test_a_status_change_written_around_the_services_still_frees_the_time(anna, haarschnitt, customer_erika):
    # given
    booked = _book(customer_erika, haarschnitt, anna, "10:00")

    # when
    Appointment.objects.filter(pk=booked.pk).update(status="cancelled")

    # then the segment followed, and the slot is bookable again
    assert booked.segments.get().status == "cancelled"
    assert _book(customer_erika, haarschnitt, anna, "10:00").pk != booked.pk


def test_a_composite_booking_blocks_each_stylist_only_during_their_segments(anna, ben, haarschnitt, customer_erika):
    # given
    colour = Service.objects.create(name="Farbe", duration_minutes=30)
    anna.services.add(colour)
    faerben = Service.objects.create(name="Färben", duration_minutes=90, price_cents=8900, buffer_after_minutes=10)
    ServiceSegment.objects.create(service=faerben, position=0, name="Farbe", duration_minutes=30,
                                  gap_after_minutes=30, qualification=colour)
    ServiceSegment.objects.create(service=faerben, position=1, name="Föhnen", duration_minutes=15,
                                  qualification=haarschnitt)

    # when
    appointment = _book(customer_erika, faerben, None, "10:00")

    # then
    rows = list(appointment.segments.values_list("name", "staff_id", "starts_at", "ends_at", "blocked_until"))
    assert rows == [
        ("Farbe", anna.pk, berlin(MONDAY, "10:00"), berlin(MONDAY, "10:30"), berlin(MONDAY, "10:30")),
        ("Föhnen", anna.pk, berlin(MONDAY, "11:00"), berlin(MONDAY, "11:15"), berlin(MONDAY, "11:25")),
    ]
    assert (appointment.starts_at, appointment.ends_at, appointment.price_cents) == (
        berlin(MONDAY, "10:00"), berlin(MONDAY, "11:15"), 8900)
    # Anna is free during the processing gap
    assert _book(customer_erika, haarschnitt, anna, "10:30").staff_id == anna.pk


def test_a_reschedule_moves_all_segments_and_frees_the_old_time(anna, haarschnitt, customer_erika, events,
                                                                 django_capture_on_commit_callbacks):
    # given
    booked = _book(customer_erika, haarschnitt, anna, "10:00")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = reschedule_appointment(appointment_id=booked.pk, new_starts_at=berlin(MONDAY, "15:00"),
                                        source="phone", actor="phone:call_1", reason="Kundin verhindert", now=NOW)

    # then
    booked.refresh_from_db()
    assert (booked.starts_at, booked.ends_at, booked.version, booked.reschedule_count) == (
        berlin(MONDAY, "15:00"), berlin(MONDAY, "15:30"), 2, 1)
    assert result.previous_starts_at == berlin(MONDAY, "10:00")
    assert result.policy.label == "passed"
    assert list(booked.segments.values_list("starts_at", flat=True)) == [berlin(MONDAY, "15:00")]
    assert asdict(events[-1]) == {"appointment_id": booked.pk, "source": "phone", "actor": "phone:call_1",
                                  "previous_starts_at": berlin(MONDAY, "10:00"), "notify_customer": True}
    assert _book(customer_erika, haarschnitt, anna, "10:00").pk != booked.pk


def test_a_reschedule_onto_a_taken_time_changes_nothing(anna, haarschnitt, customer_erika):
    # given
    first = _book(customer_erika, haarschnitt, anna, "10:00")
    _book(customer_erika, haarschnitt, anna, "11:00")

    # when
    with pytest.raises(SlotUnavailable):
        reschedule_appointment(appointment_id=first.pk, new_starts_at=berlin(MONDAY, "11:15"), source="admin",
                               actor="admin:7", now=NOW)

    # then
    first.refresh_from_db()
    assert (first.starts_at, first.version, first.reschedule_count) == (berlin(MONDAY, "10:00"), 1, 0)
    assert first.modifications.count() == 0


def test_a_reschedule_may_overlap_its_own_old_time(anna, haarschnitt, customer_erika):
    booked = _book(customer_erika, haarschnitt, anna, "10:00")

    reschedule_appointment(appointment_id=booked.pk, new_starts_at=berlin(MONDAY, "10:15"), source="admin",
                           actor="admin:7", now=NOW)

    assert booked.segments.get().starts_at == berlin(MONDAY, "10:15")


def test_a_stale_version_is_refused(anna, haarschnitt, customer_erika):
    from appointments.errors import StaleAppointment

    booked = _book(customer_erika, haarschnitt, anna, "10:00")

    with pytest.raises(StaleAppointment):
        reschedule_appointment(appointment_id=booked.pk, new_starts_at=berlin(MONDAY, "15:00"), source="admin",
                               actor="admin:7", expected_version=0, now=NOW)


def test_unknown_inputs_are_refused_with_a_clear_code(anna, haarschnitt, customer_erika):
    with pytest.raises(InvalidBookingRequest) as unknown_service:
        book_appointment(customer_id=customer_erika.pk, service_id=999999, starts_at=berlin(MONDAY, "10:00"),
                         source="admin", actor="admin:7", now=NOW)
    with pytest.raises(InvalidBookingRequest):
        book_appointment(customer_id=999999, service_id=haarschnitt.pk, starts_at=berlin(MONDAY, "10:00"),
                         source="admin", actor="admin:7", now=NOW)
    with pytest.raises(InvalidBookingRequest):
        book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, starts_at=berlin(MONDAY, "10:00"),
                         source="fax", actor="admin:7", now=NOW)

    assert unknown_service.value.code == "INVALID_BOOKING_REQUEST"
    assert Appointment.objects.count() == 0


def test_ensure_customer_finds_a_customer_by_any_spelling_of_the_phone_number(customer_erika):
    assert ensure_customer(phone="0151 12345678").pk == customer_erika.pk
    created = ensure_customer(phone="+49 30 1234567", name="Hans Meier")
    assert (created.phone, created.name) == ("+49301234567", "Hans Meier")
    with pytest.raises(InvalidPhoneNumber):
        ensure_customer(phone="12")
