"""German dates and times as callers say them, through the real check-availability endpoint:
the day and time in one argument, parts of the day narrowing the search, readings of an hour by
the branch's opening hours, and questions instead of guesses."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone, translation

from appointments.models import Appointment, Customer
from tests.fixtures.appointments import add_hours, berlin
from tests.fixtures.calls import function_call, said


def _next(weekday: int) -> date:
    today = timezone.localdate()
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)


def _book(cast, staff, day: date, *times: str) -> None:
    from appointments.services import book_appointment


    customer, _created = Customer.objects.get_or_create(phone="+4915112345678", defaults={"name": "Erika Mustermann"})
    for hhmm in times:
        book_appointment(customer_id=customer.pk, service_id=cast["haarschnitt"].pk, staff_id=staff.pk,
                         branch_id=cast["branch"].pk, starts_at=berlin(day, hhmm), source="admin", actor="admin:test")


def test_morgen_um_10_uhr_in_the_date_argument_is_tomorrow_at_ten(salon, salon_client, salon_booking):
    # given: Anna also works on Sundays, so "morgen" is a working day whatever today is
    add_hours(salon_booking["anna"], salon_booking["branch"], [6], "09:00", "18:00")
    tomorrow = timezone.localdate() + timedelta(days=1)

    # when
    response = function_call(salon_client, "check-availability", {"service": "Haarschnitt", "date": "morgen um 10 Uhr"})

    # then
    body = response.json()
    assert (response.status_code, body["success"], body["available"]) == (200, True, True)
    assert body["requested"] == {
        "date": tomorrow.isoformat(), "date_until": None, "time": "10:00",
        "starts_at": berlin(tomorrow, "10:00").isoformat(), "time_from": None, "time_until": None, "daypart": None,
    }
    assert (body["slot"]["date"], body["slot"]["start"]) == (tomorrow.isoformat(), "10:00")
    assert body["message"].startswith(f"Am {said(tomorrow)}, ist um 10:00 Uhr bei ")


def test_naechsten_dienstag_vormittags_offers_only_morning_times(salon, salon_client, salon_booking):
    # given: on next Tuesday the morning is booked except 11:30
    tuesday = _next(1)
    _book(salon_booking, salon_booking["anna"], tuesday, "09:00", "09:30", "10:00", "10:30", "11:00")
    _book(salon_booking, salon_booking["ben"], tuesday, "10:00", "10:30", "11:00")

    # when
    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "nächsten Dienstag vormittags"})

    # then
    body = response.json()
    assert (body["success"], body["available"]) == (True, True)
    assert body["requested"] == {
        "date": tuesday.isoformat(), "date_until": None, "time": None, "starts_at": None,
        "time_from": "08:00", "time_until": "12:00", "daypart": "vormittags",
    }
    assert [(t["date"], t["start"]) for t in body["free_times"]] == [(tuesday.isoformat(), "11:30")]
    assert body["message"] == f"Frei wäre am {said(tuesday)}, um 11:30 Uhr."


def test_a_full_morning_offers_the_next_mornings_and_that_afternoon(salon, salon_client, salon_booking):
    # given: next Tuesday morning is fully booked
    tuesday = _next(1)
    _book(salon_booking, salon_booking["anna"], tuesday, "09:00", "09:30", "10:00", "10:30", "11:00", "11:30")
    _book(salon_booking, salon_booking["ben"], tuesday, "10:00", "10:30", "11:00", "11:30")

    # when
    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "nächsten Dienstag", "time": "vormittags"})

    # then
    body = response.json()
    wednesday = tuesday + timedelta(days=1)
    assert (body["available"], body["free_times"]) == (False, [])
    assert [(a["date"], a["start"]) for a in body["alternatives"]] == [
        (tuesday.isoformat(), "12:00"), (tuesday.isoformat(), "13:00"), (wednesday.isoformat(), "09:00")]
    assert body["message"] == (
        f"Zu dieser Zeit ist leider nichts frei. Frei wäre am {said(tuesday)}, um 12:00 Uhr, "
        f"am {said(tuesday)}, um 13:00 Uhr oder am {said(wednesday)}, um 09:00 Uhr."
    )


def test_uebermorgen_um_15_uhr_in_one_date_argument_is_understood(salon, salon_client, salon_booking):
    add_hours(salon_booking["anna"], salon_booking["branch"], [6], "09:00", "18:00")
    day = timezone.localdate() + timedelta(days=2)

    response = function_call(salon_client, "check-availability", {"service": "Haarschnitt", "date": "übermorgen um 15 Uhr"})

    body = response.json()
    assert (body["success"], body["requested"]["date"], body["requested"]["time"]) == (True, day.isoformat(), "15:00")
    assert body["slot"]["start"] == "15:00"


def test_halb_drei_is_the_afternoon_when_the_branch_is_closed_at_night(salon, salon_client, salon_booking):
    monday = _next(0)

    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "nächsten Montag", "time": "halb drei"})

    body = response.json()
    assert (body["requested"]["date"], body["requested"]["time"]) == (monday.isoformat(), "14:30")
    assert body["slot"]["starts_at"] == berlin(monday, "14:30").isoformat()


def test_an_hour_open_in_the_morning_and_the_evening_is_asked_back(salon, salon_client, salon_booking):
    # given: Ben works Mondays from 06:00 to 22:00 as well
    add_hours(salon_booking["ben"], salon_booking["branch"], [0], "06:00", "22:00")

    # when
    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "nächsten Montag um acht"})

    # then
    body = response.json()
    assert (response.status_code, body["success"], body["error"]["code"]) == (200, False, "TIME_AMBIGUOUS")
    assert body["message"] == "Meinen Sie 8:00 Uhr oder 20:00 Uhr?"
    assert body["error"]["details"]["choices"] == ["08:00", "20:00"]


def test_a_weekday_that_does_not_match_the_date_is_asked_back(salon, salon_client, salon_booking):
    tuesday = _next(1)
    monday = tuesday - timedelta(days=1)

    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": f"am Montag, {tuesday:%d.%m.%Y}"})

    body = response.json()
    assert (body["success"], body["error"]["code"]) == (False, "DATE_AMBIGUOUS")
    months = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember")
    assert body["message"] == (
        f"Der {tuesday.day}. {months[tuesday.month - 1]} ist ein Dienstag. "
        f"Meinen Sie {said(monday)}, oder {said(tuesday)}?"
    )
    assert body["error"]["details"]["choices"] == [monday.isoformat(), tuesday.isoformat()]


def test_a_time_that_cannot_be_read_is_asked_again_not_dropped(salon, salon_client, salon_booking):
    count = Appointment.objects.count()

    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "28. Dezember um sechzehn Uhr siebzig"})

    body = response.json()
    assert (body["success"], body["error"]["code"]) == (False, "TIME_NOT_UNDERSTOOD")
    assert body["message"] == "Die Uhrzeit habe ich nicht verstanden. Können Sie sie bitte noch einmal sagen?"
    assert Appointment.objects.count() == count


def test_anfang_naechster_woche_offers_times_on_those_days(salon, salon_client, salon_booking):
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())

    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "Anfang nächster Woche", "time": "nachmittags"})

    body = response.json()
    tuesday = monday + timedelta(days=1)
    assert (body["requested"]["date"], body["requested"]["date_until"]) == (monday.isoformat(), tuesday.isoformat())
    assert [(t["date"], t["start"]) for t in body["free_times"]] == [
        (monday.isoformat(), "12:00"), (monday.isoformat(), "13:00"), (tuesday.isoformat(), "12:00")]


def test_um_acht_is_the_evening_at_a_branch_open_from_noon(salon, salon_client, salon_booking):
    # given: on Sundays only Ben works, from 12:00 to 22:00
    add_hours(salon_booking["ben"], salon_booking["branch"], [6], "12:00", "22:00")
    sunday = _next(6)

    # when
    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "nächsten Sonntag", "time": "um acht"})

    # then
    body = response.json()
    assert (body["requested"]["date"], body["requested"]["time"]) == (sunday.isoformat(), "20:00")
    assert (body["available"], body["slot"]["start"], body["slot"]["staff"]) == (True, "20:00", "Ben Wagner")


def test_a_business_can_say_what_vormittags_means_for_it(salon, salon_client, salon_booking):
    # given: Salon Schmidt's mornings are 10:00-11:00 for the agent
    from django_tenants.utils import tenant_context

    from calls.models import VoiceSettings

    with tenant_context(salon):
        VoiceSettings.objects.create(daypart_hours={"vormittags": "10:00-11:00"})
    tuesday = _next(1)

    # when
    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "nächsten Dienstag", "time": "vormittags"})

    # then
    body = response.json()
    assert (body["requested"]["time_from"], body["requested"]["time_until"]) == ("10:00", "11:00")
    assert [(t["date"], t["start"]) for t in body["free_times"]] == [(tuesday.isoformat(), "10:00")]


def test_a_part_of_the_day_that_is_not_a_window_is_refused_in_the_settings(in_salon):
    from django.core.exceptions import ValidationError

    from calls.models import VoiceSettings

    settings = VoiceSettings(daypart_hours={"vormittags": "12:00-09:00"})

    try:
        with translation.override("de"):
            settings.full_clean()
    except ValidationError as refused:
        assert refused.message_dict["daypart_hours"] == ["Ungültige Tageszeit: vormittags: '12:00-09:00' endet nicht nach dem Beginn"]
    else:
        raise AssertionError("a window that ends before it starts was accepted")
    assert VoiceSettings.objects.count() == 0


def test_a_booking_wish_for_a_range_of_days_asks_for_the_day(salon, salon_client, salon_booking):
    count = Appointment.objects.count()

    response = function_call(salon_client, "collect-appointment",
                             {"service": "Haarschnitt", "date": "Anfang nächster Woche um 10", "name": "Erika"})

    body = response.json()
    assert (body["success"], body["error"]["code"]) == (False, "DATE_MISSING")
    assert body["message"] == "An welchem Tag genau möchten Sie kommen?"
    assert Appointment.objects.count() == count


def test_anfang_naechster_woche_um_10_offers_ten_oclock_on_those_days(salon, salon_client, salon_booking):
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())

    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "Anfang nächster Woche", "time": "10 Uhr"})

    body = response.json()
    tuesday = monday + timedelta(days=1)
    assert (body["requested"]["time_from"], body["requested"]["time_until"]) == ("10:00", "10:01")
    assert [(t["date"], t["start"]) for t in body["free_times"]] == [
        (monday.isoformat(), "10:00"), (tuesday.isoformat(), "10:00")]
