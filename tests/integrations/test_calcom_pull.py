"""Pull: Cal.com webhooks (as the sandbox sends them) update AskPro idempotently and in any order."""

from __future__ import annotations

import json
from datetime import UTC

import httpx

from appointments.models import Appointment, AppointmentModification, Customer
from integrations.calcom.client import Attendee
from integrations.calcom.models import BookingSync, DriftRecord
from integrations.models import WebhookEvent
from notifications.models import NotificationDelivery
from tests.fixtures.appointments import berlin
from tests.fixtures.integrations import body, deliver, sandbox_webhooks

MARIA = Attendee(name="Maria Schulz", email="maria@example.com", phone_number="+4915198765432")


def test_a_booking_made_in_cal_com_becomes_an_appointment_once_even_when_delivered_twice(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, anna, next_monday,
        django_capture_on_commit_callbacks):
    # given
    booking = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "11:00"), attendee=MARIA)
    [raw] = sandbox_webhooks(calcom_sandbox, "BOOKING_CREATED")

    # when the same delivery arrives twice
    with django_capture_on_commit_callbacks(execute=True):
        first, first_outcome = deliver(salon_client, raw)
        second, second_outcome = deliver(salon_client, raw)

    # then
    assert (first_outcome, second_outcome) == ("processed", "processed")
    assert (second["duplicate"], second["event_id"]) == (True, first["event_id"])
    assert WebhookEvent.objects.get().attempts == 1
    appointment = Appointment.objects.get()
    assert (appointment.starts_at, appointment.staff_id, appointment.status, appointment.source,
            appointment.external_ref) == (berlin(next_monday, "11:00"), anna.pk, "confirmed", "calcom", booking.uid)
    customer = Customer.objects.get(pk=appointment.customer_id)
    assert (customer.name, customer.email, customer.phone, customer.source) == (
        "Maria Schulz", "maria@example.com", "+4915198765432", "calcom")
    sync = BookingSync.objects.get()
    assert (sync.appointment_id, sync.booking_uid, sync.state) == (appointment.pk, booking.uid, "synced")
    assert len(calcom_sandbox.state.data["bookings"]) == 1  # nothing pushed back (no echo)


def test_the_echo_of_a_booking_pushed_by_askpro_changes_nothing(
        salon_on_sandbox, calcom_sandbox, salon_client, erika_haarschnitt, celery_eager):
    from integrations.calcom import push

    push.request_push(erika_haarschnitt.pk)
    push.push_appointment(erika_haarschnitt.pk)
    [raw] = sandbox_webhooks(calcom_sandbox, "BOOKING_CREATED")

    _, outcome = deliver(salon_client, raw)

    assert outcome == "processed"
    assert Appointment.objects.get().version == erika_haarschnitt.version
    assert (BookingSync.objects.get().state, AppointmentModification.objects.count()) == ("synced", 0)


def test_an_existing_customer_is_found_by_email(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, customer_erika, next_monday):
    calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "11:00"),
                                 attendee=Attendee(name="Erika M.", email="ERIKA@example.com"))

    deliver(salon_client, sandbox_webhooks(calcom_sandbox)[0])

    assert Appointment.objects.get().customer_id == customer_erika.pk
    assert Customer.objects.count() == 1


def test_a_reschedule_in_cal_com_moves_the_appointment_pushed_from_askpro(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, customer_erika, haarschnitt, anna, next_monday,
        celery_eager, django_capture_on_commit_callbacks):
    # given an appointment booked in AskPro and pushed
    from appointments.services import book_appointment

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                                       starts_at=berlin(next_monday, "10:00"), source="admin", actor="admin:test")
    old_uid = BookingSync.objects.get().booking_uid

    # when the customer moves it in Cal.com and both webhooks arrive (our own creation echo first)
    moved = calcom_client.reschedule_booking(old_uid, start=berlin(next_monday, "15:00"))
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [deliver(salon_client, raw)[1] for raw in sandbox_webhooks(calcom_sandbox)]

    # then (the echo of our own creation is already superseded by the reschedule when it is processed)
    assert outcomes == ["ignored", "processed"]
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.reschedule_count, appointment.status) == (
        berlin(next_monday, "15:00"), 1, "confirmed")
    modification = AppointmentModification.objects.get()
    assert (modification.actor, modification.source) == ("calcom", "calcom")
    sync = BookingSync.objects.get()
    assert (sync.booking_uid, sync.previous_uids, sync.state) == (moved.uid, [old_uid], "synced")
    assert len(calcom_sandbox.state.data["bookings"]) == 2  # the old (cancelled) and the new: nothing pushed back


def test_out_of_order_deliveries_end_in_cal_coms_current_state(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, next_monday):
    # given a booking created, rescheduled twice and the webhooks arrive newest first
    created = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "09:00"), attendee=MARIA)
    second = calcom_client.reschedule_booking(created.uid, start=berlin(next_monday, "13:00"))
    third = calcom_client.reschedule_booking(second.uid, start=berlin(next_monday, "16:00"))

    # when
    outcomes = [deliver(salon_client, raw)[1] for raw in reversed(sandbox_webhooks(calcom_sandbox))]

    # then one appointment at the final time, linked to the final uid
    assert outcomes == ["processed", "ignored", "ignored"]  # the older two are superseded
    appointment = Appointment.objects.get()
    assert (appointment.starts_at, appointment.status) == (berlin(next_monday, "16:00"), "confirmed")
    sync = BookingSync.objects.get()
    assert (sync.booking_uid, sorted(sync.previous_uids)) == (third.uid, sorted([second.uid]))


def test_a_cancellation_delivered_before_the_creation_leaves_no_appointment(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, next_monday):
    booking = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "09:00"), attendee=MARIA)
    calcom_client.cancel_booking(booking.uid, reason="doch nicht")

    outcomes = [deliver(salon_client, raw)[1] for raw in reversed(sandbox_webhooks(calcom_sandbox))]

    assert outcomes == ["ignored", "ignored"]
    assert Appointment.objects.count() == 0


def test_a_cancellation_and_a_host_reschedule_request_cancel_the_appointment(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, next_monday):
    # given two Cal.com bookings known to AskPro
    first = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "09:00"), attendee=MARIA)
    second = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "10:00"), attendee=MARIA)
    for raw in sandbox_webhooks(calcom_sandbox):
        deliver(salon_client, raw)

    # when the first is cancelled and the host asks to reschedule the second
    calcom_client.cancel_booking(first.uid, reason="krank")
    calcom_client.cancel_booking(second.uid, reason="Termin passt nicht")
    cancelled = sandbox_webhooks(calcom_sandbox, "BOOKING_CANCELLED")
    request = json.loads(cancelled[1])
    request["payload"]["requestReschedule"] = True
    deliver(salon_client, cancelled[0])
    deliver(salon_client, body(request))

    # then
    reasons = dict(AppointmentModification.objects.values_list("appointment__external_ref", "reason"))
    assert reasons == {first.uid: "Cal.com: krank", second.uid: "Cal.com: Termin passt nicht"}
    assert set(Appointment.objects.values_list("status", flat=True)) == {"cancelled"}


def test_a_requested_booking_is_pending_until_confirmed_and_a_rejected_one_is_cancelled(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, next_monday):
    # given Haarschnitt requires confirmation in Cal.com
    calcom_sandbox.state.data["event_types"][101]["requiresConfirmation"] = True
    confirmed = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "09:00"), attendee=MARIA)
    rejected = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "10:00"), attendee=MARIA)
    for raw in sandbox_webhooks(calcom_sandbox, "BOOKING_REQUESTED"):
        deliver(salon_client, raw)
    assert set(Appointment.objects.values_list("status", flat=True)) == {"pending"}

    # when the host confirms one and declines the other
    headers = {"Authorization": "Bearer cal_test_sandbox_key", "cal-api-version": "2024-08-13"}
    httpx.post(f"{calcom_sandbox.url}/v2/bookings/{confirmed.uid}/confirm", headers=headers).raise_for_status()
    httpx.post(f"{calcom_sandbox.url}/v2/bookings/{rejected.uid}/decline", headers=headers,
               json={"reason": "ausgebucht"}).raise_for_status()
    for trigger in ("BOOKING_CREATED", "BOOKING_REJECTED"):
        deliver(salon_client, sandbox_webhooks(calcom_sandbox, trigger)[0])

    # then
    statuses = dict(Appointment.objects.values_list("external_ref", "status"))
    assert statuses == {confirmed.uid: "confirmed", rejected.uid: "cancelled"}


def test_a_cal_com_booking_that_clashes_with_a_local_one_goes_to_manual_review(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, erika_haarschnitt, next_monday):
    # given Erika's local 10:00 with Anna (booked before Cal.com knew it) and a Cal.com booking at 10:00
    booking = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "10:00"), attendee=MARIA)
    [raw] = sandbox_webhooks(calcom_sandbox)

    # when it is delivered (and a later notification about the same booking too)
    _, outcome = deliver(salon_client, raw)
    again = json.loads(raw)
    again["createdAt"] = "2030-01-01T00:00:00.000Z"
    _, outcome_again = deliver(salon_client, body(again))

    # then nothing is overwritten, nothing fails, and the clash waits for a person
    assert (outcome, outcome_again) == ("processed", "processed")
    assert list(Appointment.objects.values_list("pk", "starts_at", "status")) == [
        (erika_haarschnitt.pk, berlin(next_monday, "10:00"), "confirmed")]
    record = DriftRecord.objects.get()
    assert (record.appointment_id, record.booking_uid, record.field, record.state) == (
        None, booking.uid, "missing", "manual_review")
    assert record.remote_value["start"] == berlin(next_monday, "10:00").astimezone(UTC).isoformat()


def test_a_reschedule_in_cal_com_onto_a_taken_time_is_a_conflict_not_an_overwrite(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, erika_haarschnitt, next_monday):
    # given a Cal.com booking at 09:00 known to AskPro and Erika's local 10:00 (not in Cal.com)
    booking = calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "09:00"), attendee=MARIA)
    deliver(salon_client, sandbox_webhooks(calcom_sandbox)[0])

    # when it is moved in Cal.com onto 10:00
    calcom_client.reschedule_booking(booking.uid, start=berlin(next_monday, "10:00"))
    _, outcome = deliver(salon_client, sandbox_webhooks(calcom_sandbox, "BOOKING_RESCHEDULED")[0])

    # then
    assert outcome == "processed"
    mine = Appointment.objects.get(external_ref=booking.uid)
    assert mine.starts_at == berlin(next_monday, "09:00")
    assert BookingSync.objects.get(appointment=mine).state == "conflict"
    record = DriftRecord.objects.get()
    assert (record.appointment_id, record.field, record.state) == (mine.pk, "time", "manual_review")


def test_a_webhook_for_an_unmapped_event_type_is_ignored(salon_on_sandbox, calcom_sandbox, calcom_client,
                                                         salon_client, next_monday):
    calcom_client.create_booking(event_type_id=102, start=berlin(next_monday, "09:00"), attendee=MARIA)

    _, outcome = deliver(salon_client, sandbox_webhooks(calcom_sandbox)[0])

    assert outcome == "ignored"
    assert WebhookEvent.objects.get().last_error == "nothing to do: unmapped"
    assert Appointment.objects.count() == 0


def test_a_booking_made_in_cal_com_is_not_confirmed_again_by_askpro(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, next_monday, celery_eager,
        django_capture_on_commit_callbacks):
    # given Cal.com confirmed the booking to its attendee itself
    calcom_client.create_booking(event_type_id=101, start=berlin(next_monday, "11:00"), attendee=MARIA)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        deliver(salon_client, sandbox_webhooks(calcom_sandbox)[0])

    # then
    assert Appointment.objects.get().source == "calcom"
    assert NotificationDelivery.objects.count() == 0


def test_a_cancellation_in_cal_com_is_not_announced_to_the_customer_again(
        salon_on_sandbox, calcom_sandbox, calcom_client, salon_client, customer_erika, haarschnitt, anna, next_monday,
        celery_eager, django_capture_on_commit_callbacks):
    # given an appointment booked in AskPro, confirmed to the customer and pushed
    from appointments.services import book_appointment

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                                       starts_at=berlin(next_monday, "10:00"), source="admin", actor="admin:test")
    uid = BookingSync.objects.get().booking_uid

    # when the customer cancels it in Cal.com (which tells the customer itself)
    calcom_client.cancel_booking(uid, reason="krank")
    with django_capture_on_commit_callbacks(execute=True):
        deliver(salon_client, sandbox_webhooks(calcom_sandbox, "BOOKING_CANCELLED")[-1])

    # then
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert list(NotificationDelivery.objects.values_list("event", flat=True)) == ["appointment_confirmed"]
