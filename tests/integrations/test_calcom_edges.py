"""Cal.com edge cases of issue 15: a push that timed out but took effect, cancellations that
arrive before their booking, and booking webhooks without uid or start time."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import book_appointment, cancel_appointment
from integrations.calcom import push
from integrations.calcom.models import BookingSync, BookingTombstone, CalcomConnection, DriftRecord
from integrations.http import breaker_for
from integrations.models import WebhookEvent
from tests.fixtures.appointments import berlin
from tests.fixtures.integrations import body, deliver


@pytest.fixture
def fresh_breaker():
    breaker_for("calcom").reset()
    yield
    breaker_for("calcom").reset()


@pytest.fixture
def answers_too_late(calcom_sandbox, settings, fresh_breaker):
    """The next sandbox request is processed, but answered after the client's timeout."""
    settings.CALCOM_TIMEOUT_SECONDS = 0.5
    calcom_sandbox.state.data["failures"].append({"status": "timeout", "delay": 3.0})


def _booked_with_timeout(customer, service, staff, when, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return book_appointment(customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk, starts_at=when,
                                source="admin", actor="admin:test")


def test_a_push_that_timed_out_but_was_booked_is_linked_on_the_retry_not_booked_twice(
        salon_on_sandbox, calcom_sandbox, answers_too_late, customer_erika, haarschnitt, anna, next_monday,
        celery_eager, django_capture_on_commit_callbacks):
    # given the create reached Cal.com but its answer never came back
    appointment = _booked_with_timeout(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"),
                                       django_capture_on_commit_callbacks)
    sync = BookingSync.objects.get(appointment=appointment)
    [remote] = calcom_sandbox.state.data["bookings"].values()
    assert (sync.state, sync.booking_uid, sync.push_attempts) == ("failed", None, 1)
    assert sync.push_key and remote["metadata"]["askpro_push_key"] == sync.push_key

    # when the retry runs
    outcome = push.push_appointment(appointment.pk, now=sync.next_push_at)

    # then the booking Cal.com made is linked: no second booking, no conflict, no manual review
    sync.refresh_from_db()
    assert outcome.state == "synced"
    assert (sync.state, sync.booking_uid, sync.last_error, sync.push_key, sync.next_push_at) == (
        "synced", remote["uid"], "", "", None)
    assert list(calcom_sandbox.state.data["bookings"]) == [remote["uid"]]
    assert DriftRecord.objects.count() == 0
    assert Appointment.objects.get(pk=appointment.pk).status == "confirmed"


def test_a_cancellation_before_the_link_cancels_the_booking_the_timed_out_push_made(
        salon_on_sandbox, calcom_sandbox, answers_too_late, customer_erika, haarschnitt, anna, next_monday,
        celery_eager, django_capture_on_commit_callbacks):
    appointment = _booked_with_timeout(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"),
                                       django_capture_on_commit_callbacks)
    [uid] = calcom_sandbox.state.data["bookings"]

    # when the appointment is cancelled in AskPro before any retry linked the booking
    with django_capture_on_commit_callbacks(execute=True):
        cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:test", reason="Kundin krank")

    # then the booking in Cal.com is cancelled too (no ghost booking)
    remote = calcom_sandbox.state.data["bookings"][uid]
    assert (remote["status"], remote["cancellationReason"]) == ("cancelled", "Kundin krank")
    sync = BookingSync.objects.get(appointment=appointment)
    assert (sync.state, sync.booking_uid, sync.push_key) == ("synced", uid, "")


def test_a_timed_out_push_found_by_attendee_and_start_when_the_key_is_missing(
        salon_on_sandbox, calcom_sandbox, answers_too_late, customer_erika, haarschnitt, anna, next_monday,
        celery_eager, django_capture_on_commit_callbacks):
    appointment = _booked_with_timeout(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"),
                                       django_capture_on_commit_callbacks)
    [remote] = calcom_sandbox.state.data["bookings"].values()
    remote["metadata"] = {}  # e.g. metadata dropped on the way
    sync = BookingSync.objects.get(appointment=appointment)

    push.push_appointment(appointment.pk, now=sync.next_push_at)

    sync.refresh_from_db()
    assert (sync.state, sync.booking_uid) == ("synced", remote["uid"])
    assert len(calcom_sandbox.state.data["bookings"]) == 1


def test_a_create_that_never_reached_cal_com_is_sent_again_with_the_same_key(
        salon_on_sandbox, calcom_sandbox, customer_erika, haarschnitt, anna, next_monday, celery_eager,
        settings, fresh_breaker, django_capture_on_commit_callbacks):
    # given a create that timed out before Cal.com processed it (the sandbox lost it)
    settings.CALCOM_TIMEOUT_SECONDS = 0.5
    calcom_sandbox.state.data["failures"].append({"status": "timeout", "delay": 3.0})
    appointment = _booked_with_timeout(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"),
                                       django_capture_on_commit_callbacks)
    calcom_sandbox.state.data["bookings"].clear()
    sync = BookingSync.objects.get(appointment=appointment)
    key = sync.push_key

    push.push_appointment(appointment.pk, now=sync.next_push_at)

    sync.refresh_from_db()
    [remote] = calcom_sandbox.state.data["bookings"].values()
    assert (sync.state, sync.booking_uid, remote["metadata"]["askpro_push_key"]) == ("synced", remote["uid"], key)


# --- cancellations that arrive first --------------------------------------------------------


def _envelope(trigger: str, uid: str, start, status: str) -> dict:
    return {"triggerEvent": trigger, "createdAt": timezone.now().astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "payload": {
                "uid": uid, "bookingId": 4711, "title": "Haarschnitt zwischen Anna Becker und Maria Schulz",
                "startTime": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endTime": (start + timedelta(minutes=30)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "type": "haarschnitt", "eventTypeId": 101,
                "organizer": {"id": 1, "name": "Anna Becker", "email": "anna@salon-schmidt.example",
                              "username": "anna", "timeZone": "Europe/Berlin", "language": {"locale": "de"}},
                "attendees": [{"name": "Maria Schulz", "email": "maria@example.com", "timeZone": "Europe/Berlin",
                               "language": {"locale": "de"}}],
                "metadata": {}, "status": status,
                **({"cancellationReason": "Termin passt nicht"} if status == "CANCELLED" else {}),
            }}


@pytest.mark.parametrize("with_api_key", [True, False], ids=["api-does-not-know-the-uid", "no-api-key"])
def test_a_cancellation_arriving_before_its_booking_leaves_no_confirmed_appointment(
        salon_on_sandbox, calcom_sandbox, salon_client, next_monday, with_api_key, fresh_breaker,
        django_capture_on_commit_callbacks):
    # given a tenant with (the API answers 404 for this uid) or without an API key
    if not with_api_key:
        CalcomConnection.objects.update(api_key="")
    start = berlin(next_monday, "11:00")

    # when BOOKING_CANCELLED is delivered before BOOKING_CREATED of the same booking
    with django_capture_on_commit_callbacks(execute=True):
        _answer, cancelled = deliver(salon_client, body(_envelope("BOOKING_CANCELLED", "ghost-uid-1", start, "CANCELLED")))
        _answer, created = deliver(salon_client, body(_envelope("BOOKING_CREATED", "ghost-uid-1", start, "ACCEPTED")))

    # then nothing is booked in AskPro, and both deliveries say why
    assert Appointment.objects.count() == 0
    assert BookingSync.objects.count() == 0
    assert (cancelled, created) == ("processed", "ignored")  # the cancellation is kept as a tombstone
    assert WebhookEvent.objects.get(event_type="BOOKING_CREATED").last_error == "nothing to do: already_cancelled"
    tombstone = BookingTombstone.objects.get()
    assert (tombstone.booking_uid, tombstone.status, tombstone.reason) == ("ghost-uid-1", "cancelled", "Termin passt nicht")


def test_a_booking_created_without_a_cancellation_first_is_still_imported(
        salon_on_sandbox, calcom_sandbox, salon_client, next_monday, fresh_breaker):
    CalcomConnection.objects.update(api_key="")

    _answer, outcome = deliver(salon_client, body(_envelope("BOOKING_CREATED", "real-uid-1",
                                                            berlin(next_monday, "11:00"), "ACCEPTED")))

    assert outcome == "processed"
    assert Appointment.objects.get().external_ref == "real-uid-1"
    assert BookingTombstone.objects.count() == 0


# --- malformed booking webhooks -------------------------------------------------------------


@pytest.mark.parametrize("drop, missing", [
    (("uid",), "uid"), (("startTime",), "startTime"), (("uid", "startTime", "endTime"), "uid, startTime, endTime"),
])
def test_a_booking_webhook_without_uid_or_start_is_kept_as_malformed_at_once(
        salon_on_sandbox, salon_client, next_monday, drop, missing):
    envelope = _envelope("BOOKING_CREATED", "some-uid", berlin(next_monday, "11:00"), "ACCEPTED")
    for key in drop:
        envelope["payload"].pop(key)

    answer, outcome = deliver(salon_client, body(envelope))

    event = WebhookEvent.objects.get(pk=answer["event_id"])
    assert (outcome, event.status, event.attempts, event.next_attempt_at) == ("malformed", "malformed", 1, None)
    assert event.last_error == f"Cal.com booking webhook without {missing}"
    assert Appointment.objects.count() == 0
    # final: processing it again does nothing, and the status command shows it
    from integrations.inbox import process_event

    assert process_event(event.pk, force=True) == "malformed"
    assert WebhookEvent.objects.get(pk=event.pk).attempts == 1
    out = StringIO()
    call_command("webhooks_status", "--provider", "calcom", stdout=out)
    assert "  malformed           1" in out.getvalue()
    json.dumps(event.payload)  # the body is kept for inspection
