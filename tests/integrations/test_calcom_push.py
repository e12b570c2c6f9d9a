"""Push: appointments booked, moved and cancelled in AskPro reach the Cal.com sandbox."""

from __future__ import annotations

from datetime import UTC, timedelta

import httpx
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import book_appointment, cancel_appointment, reschedule_appointment
from integrations.calcom import push
from integrations.calcom.client import Attendee
from integrations.calcom.models import BookingSync, DriftRecord
from tests.fixtures.appointments import berlin


def _book(customer, service, staff, when, source="admin"):
    return book_appointment(customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk, starts_at=when,
                            source=source, actor="admin:test")


def _sandbox_bookings(sandbox):
    return sorted(sandbox.state.data["bookings"].values(), key=lambda b: b["createdAt"])


def test_a_booking_made_in_askpro_appears_in_cal_com_and_shows_synced(
        salon_on_sandbox, calcom_sandbox, customer_erika, haarschnitt, anna, next_monday, celery_eager,
        django_capture_on_commit_callbacks):
    # given Salon Schmidt is connected and Haarschnitt/Anna are mapped
    # when
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"))

    # then
    [remote] = _sandbox_bookings(calcom_sandbox)
    assert (remote["eventTypeId"], remote["start"], remote["status"]) == (
        101, berlin(next_monday, "10:00").astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"), "accepted")
    assert remote["attendees"][0]["email"] == "erika@example.com"
    assert remote["metadata"] == {"source": "askpro", "askpro_appointment_id": str(appointment.pk)}
    sync = BookingSync.objects.get(appointment=appointment)
    assert (sync.state, sync.booking_uid, sync.push_attempts, sync.last_error) == ("synced", remote["uid"], 0, "")


def test_a_reschedule_and_a_cancellation_in_askpro_follow_in_cal_com(
        salon_on_sandbox, calcom_sandbox, customer_erika, haarschnitt, anna, next_monday, celery_eager,
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"))
    first_uid = BookingSync.objects.get(appointment=appointment).booking_uid

    with django_capture_on_commit_callbacks(execute=True):
        reschedule_appointment(appointment_id=appointment.pk, new_starts_at=berlin(next_monday, "14:00"),
                               source="admin", actor="admin:test")
    sync = BookingSync.objects.get(appointment=appointment)
    old, new = calcom_sandbox.state.data["bookings"][first_uid], calcom_sandbox.state.data["bookings"][sync.booking_uid]
    assert (old["status"], old["rescheduledToUid"]) == ("cancelled", sync.booking_uid)
    assert (new["status"], new["start"][11:16], new["rescheduledFromUid"]) == ("accepted", "13:00", first_uid)
    assert (sync.state, sync.previous_uids) == ("synced", [first_uid])

    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:test", reason="Kundin krank")

    assert calcom_sandbox.state.data["bookings"][sync.booking_uid]["status"] == "cancelled"
    assert calcom_sandbox.state.data["bookings"][sync.booking_uid]["cancellationReason"] == "Kundin krank"
    assert BookingSync.objects.get(appointment=appointment).state == "synced"


def test_cal_com_being_down_does_not_block_the_booking_and_the_push_is_retried_with_backoff(
        salon_on_sandbox, calcom_sandbox, customer_erika, haarschnitt, anna, next_monday, celery_eager,
        django_capture_on_commit_callbacks):
    # given Cal.com answers 503 to the next two requests
    calcom_sandbox.state.data["failures"].extend(
        [{"status": 503, "retry_after": None, "message": "down", "code": "ServiceUnavailableException"}] * 2)
    started = timezone.now()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"))

    # then the appointment stands, the sync shows the failure and when it is tried again
    appointment.refresh_from_db()
    assert appointment.status == "confirmed"
    sync = BookingSync.objects.get(appointment=appointment)
    assert (sync.state, sync.push_attempts, sync.booking_uid) == ("failed", 1, None)
    assert sync.last_error.startswith("CALCOM_UNAVAILABLE")
    assert timedelta(seconds=29) < sync.next_push_at - started < timedelta(seconds=35)
    assert calcom_sandbox.state.data["bookings"] == {}

    second = push.push_appointment(appointment.pk, now=sync.next_push_at)
    sync.refresh_from_db()
    assert (second.state, second.retry_in, sync.push_attempts) == ("failed", 60.0, 2)

    third = push.push_appointment(appointment.pk, now=sync.next_push_at)
    sync.refresh_from_db()
    assert (third.state, sync.state, sync.last_error, sync.next_push_at) == ("synced", "synced", "", None)
    assert len(calcom_sandbox.state.data["bookings"]) == 1


def test_the_reconciliation_requeues_a_due_push_that_was_lost(
        salon_on_sandbox, calcom_sandbox, customer_erika, haarschnitt, anna, next_monday, celery_eager):
    # given a booking whose push was requested but never ran (broker down, worker lost)
    appointment = _book(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"))
    push.request_push(appointment.pk, now=timezone.now() - timedelta(minutes=5))

    # when
    from integrations.calcom.tasks import reconcile_tenant

    result = reconcile_tenant.apply().get()

    # then
    assert result["requeued"] == 1
    assert BookingSync.objects.get(appointment=appointment).state == "synced"
    assert len(calcom_sandbox.state.data["bookings"]) == 1


def test_a_time_taken_in_cal_com_becomes_a_conflict_for_manual_review(
        salon_on_sandbox, calcom_sandbox, calcom_client, customer_erika, haarschnitt, anna, next_monday, celery_eager,
        django_capture_on_commit_callbacks):
    # given Anna is already booked at 10:00 in Cal.com (made there, not known to AskPro yet)
    calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "10:00"),
                                 attendee=Attendee(name="Max", email="max@example.com"))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"))

    # then the local booking stands and the clash is visible
    assert Appointment.objects.get(pk=appointment.pk).status == "confirmed"
    sync = BookingSync.objects.get(appointment=appointment)
    assert (sync.state, sync.next_push_at) == ("conflict", None)
    assert sync.last_error.startswith("CALCOM_SLOT_UNAVAILABLE")
    record = DriftRecord.objects.get()
    assert (record.appointment_id, record.field, record.state) == (appointment.pk, "time", "manual_review")


def test_changes_that_came_from_cal_com_and_unmapped_staff_are_not_pushed(
        salon_on_sandbox, calcom_sandbox, customer_erika, haarschnitt, anna, ben, next_monday, celery_eager,
        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _book(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"), source="calcom")
        _book(customer_erika, haarschnitt, ben, berlin(next_monday, "11:00"))

    assert BookingSync.objects.count() == 0
    assert calcom_sandbox.state.data["bookings"] == {}


def test_a_local_booking_change_drops_cached_cal_com_slots(
        salon_on_sandbox, calcom_sandbox, customer_erika, haarschnitt, anna, next_monday, ben,
        django_capture_on_commit_callbacks, celery_eager):
    # the outbox delivers the change to the Cal.com listener after the commit (inline here)
    from integrations.calcom.queries import client_for

    client = client_for(salon_on_sandbox)
    before = client.get_slots(101, next_monday, next_monday, time_zone="Europe/Berlin")
    # someone books 09:00 directly at Cal.com (not through our client)
    httpx.post(f"{calcom_sandbox.url}/v2/bookings", headers={"cal-api-version": "2024-08-13"}, json={
        "start": berlin(next_monday, "09:00").isoformat(), "eventTypeId": 101,
        "attendee": {"name": "X", "email": "x@example.com", "timeZone": "Europe/Berlin"}}).raise_for_status()
    cached = client.get_slots(101, next_monday, next_monday, time_zone="Europe/Berlin")

    with django_capture_on_commit_callbacks(execute=True):  # a booking change in AskPro (Ben: not pushed)
        _book(customer_erika, haarschnitt, ben, berlin(next_monday, "11:00"))
    fresh = client.get_slots(101, next_monday, next_monday, time_zone="Europe/Berlin")

    assert (len(before), len(cached), len(fresh)) == (16, 16, 15)
    client.close()
