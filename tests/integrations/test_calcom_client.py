from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import respx

from integrations.calcom.client import (
    Attendee,
    CalcomAuthError,
    CalcomClient,
    CalcomNotFound,
    CalcomRateLimited,
    CalcomSlotUnavailable,
    CalcomValidationError,
)
from integrations.http import ResilientClient


def _next_weekday(weekday: int) -> date:
    today = datetime.now(UTC).date() + timedelta(days=7)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def test_event_types_are_listed_for_the_key_owner_and_the_team(calcom_client):
    personal = calcom_client.list_event_types()
    team = calcom_client.list_team_event_types(10)

    assert [(e.id, e.slug, e.length_minutes) for e in personal] == [(101, "haarschnitt", 30), (102, "faerben", 90)]
    assert [(e.id, e.team_id, e.scheduling_type, e.host_user_ids) for e in team] == [(201, 10, "roundRobin", (1, 2))]


def test_slots_come_back_in_utc_within_the_berlin_opening_hours(calcom_client, in_salon):
    monday = _next_weekday(0)

    slots = calcom_client.get_slots(101, monday, monday, time_zone="Europe/Berlin")

    assert len(slots) == 16  # 09:00-17:00 Berlin in 30 min steps
    first = slots[0].start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert (first.hour, first.minute) == (9, 0)
    assert slots[0].end - slots[0].start == timedelta(minutes=30)


def test_a_booking_is_created_rescheduled_and_cancelled_with_the_right_uids(calcom_client, calcom_sandbox, in_salon):
    monday = _next_weekday(0)
    start = datetime.combine(monday, datetime.min.time(), UTC) + timedelta(hours=8)  # 09:00 / 10:00 Berlin

    booking = calcom_client.create_booking(
        event_type_id=101, start=start, attendee=Attendee(name="Maria Schulz", email="maria@example.com"),
        metadata={"source": "askpro", "appointment_id": "42"},
    )
    moved = calcom_client.reschedule_booking(booking.uid, start=start + timedelta(hours=2))
    old = calcom_client.get_booking(booking.uid)
    cancelled = calcom_client.cancel_booking(moved.uid, reason="Kunde krank")

    assert (booking.status, booking.start, booking.event_type_id) == ("accepted", start, 101)
    assert booking.metadata == {"source": "askpro", "appointment_id": "42"}
    assert moved.uid != booking.uid and moved.rescheduled_from_uid == booking.uid
    assert moved.start == start + timedelta(hours=2)
    assert (old.status, old.rescheduled_to_uid) == ("cancelled", moved.uid)
    assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "Kunde krank")


def test_booking_a_taken_time_raises_slot_unavailable(calcom_client, in_salon):
    start = datetime.combine(_next_weekday(1), datetime.min.time(), UTC) + timedelta(hours=9)
    calcom_client.create_booking(event_type_id=101, start=start, attendee=Attendee(name="A", email="a@example.com"))

    with pytest.raises(CalcomSlotUnavailable) as raised:
        calcom_client.create_booking(event_type_id=101, start=start, attendee=Attendee(name="B", email="b@example.com"))

    assert raised.value.status == 400
    assert raised.value.calcom_code == "BadRequestException"


def test_bookings_are_listed_page_by_page_since_an_update_time(calcom_client, in_salon):
    day = _next_weekday(2)
    since = datetime.now(UTC) - timedelta(seconds=1)
    for hour in (8, 9, 10):
        calcom_client.create_booking(event_type_id=101, start=datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=hour),
                                     attendee=Attendee(name=f"Kunde {hour}", email=f"k{hour}@example.com"))

    page = calcom_client.list_bookings(after_updated_at=since, take=2)
    everything = list(calcom_client.iter_bookings(after_updated_at=since, take=2))

    assert (len(page.bookings), page.total, page.has_next) == (2, 3, True)
    assert [b.attendees[0].name for b in everything] == ["Kunde 8", "Kunde 9", "Kunde 10"]


def test_cached_slots_are_served_until_a_booking_change_invalidates_them(calcom_client, calcom_sandbox, in_salon):
    day = _next_weekday(3)
    before = calcom_client.get_slots(101, day, day)
    calcom_sandbox.state.data["schedules"][1] = []  # Anna closes: the cache does not know yet

    cached = calcom_client.get_slots(101, day, day)
    calcom_sandbox.state.data["schedules"][1] = [{"days": ["Thursday"], "startTime": "09:00", "endTime": "10:00"}]
    calcom_client.create_booking(event_type_id=101, start=before[0].start, attendee=Attendee(name="X", email="x@example.com"))
    fresh = calcom_client.get_slots(101, day, day)

    assert cached == before
    assert len(fresh) == 1  # 09:00-10:00 minus the booked 09:00 slot


def test_an_unknown_booking_raises_not_found(calcom_client):
    with pytest.raises(CalcomNotFound):
        calcom_client.get_booking("does-not-exist")


def test_a_wrong_api_key_raises_auth_error(calcom_sandbox):
    client = CalcomClient("cal_wrong", calcom_sandbox.url)
    with pytest.raises(CalcomAuthError) as raised:
        client.list_bookings()
    assert raised.value.status == 401


@respx.mock
def test_calcom_error_bodies_become_typed_exceptions():
    error = {"status": "error", "timestamp": "2026-01-01T00:00:00.000Z", "path": "/v2/bookings",
             "error": {"code": "BadRequestException", "message": "attendee.timeZone must be a valid IANA zone",
                       "details": {"errors": []}}}
    respx.post("https://cal.test/v2/bookings").mock(return_value=httpx.Response(400, json=error, headers={"X-Request-Id": "req-1"}))
    respx.get("https://cal.test/v2/bookings").mock(return_value=httpx.Response(
        429, json={"status": "error", "error": {"code": "ThrottlerException", "message": "Too Many Requests"}},
        headers={"Retry-After": "120"}))
    http = ResilientClient("calcom-respx", "https://cal.test", sleep=lambda s: None)
    http.breaker.reset()
    client = CalcomClient("cal_x", "https://cal.test", http=http)

    with pytest.raises(CalcomValidationError) as invalid:
        client.create_booking(event_type_id=1, start=datetime(2030, 1, 7, 9, tzinfo=UTC), attendee=Attendee(name="A", email="a@x.de"))
    with pytest.raises(CalcomRateLimited) as limited:
        client.list_bookings()

    assert type(invalid.value) is CalcomValidationError
    assert (invalid.value.request_id, invalid.value.details["calcom_message"]) == ("req-1", "attendee.timeZone must be a valid IANA zone")
    assert (limited.value.retry_after, limited.value.status) == (120.0, 429)
    assert respx.calls.call_count == 2  # a Retry-After beyond 30 s is not waited for


@respx.mock
def test_each_resource_gets_its_own_cal_api_version():
    seen = {}

    def record(request):
        seen[request.url.path] = request.headers.get("cal-api-version")
        return httpx.Response(200, json={"status": "success", "data": [] if "slots" not in request.url.path else {}})

    respx.route(host="cal.test").mock(side_effect=record)
    client = CalcomClient("cal_x", "https://cal.test")
    client.list_event_types()
    client.list_team_event_types(5)
    client.get_slots(1, date(2030, 1, 7), date(2030, 1, 7), use_cache=False)
    client.list_bookings()

    assert seen == {"/v2/event-types": "2024-06-14", "/v2/teams/5/event-types": "2024-06-14",
                    "/v2/slots": "2024-09-04", "/v2/bookings": "2024-08-13"}
