"""The scheduling function calls (check-availability, collect, book, reschedule, cancel, list)
through the real views, signed, in both Retell body forms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_tenants.utils import tenant_context

from appointments.models import Appointment, AppointmentModification, Customer, PolicyConfiguration
from calls.models import Call, FunctionCallResult
from tests.fixtures.appointments import berlin
from tests.fixtures.calls import PHYSIO_NUMBER, SALON_NUMBER, function_call, said

NEW_CALLER = "+4917055566677"


def appointments_in(tenant) -> list[tuple]:
    with tenant_context(tenant):
        return list(Appointment.objects.order_by("id").values_list("customer__phone", "staff__name", "starts_at",
                                                                   "status", "source"))


def test_check_availability_says_the_free_time_with_staff_branch_and_spread_alternatives(
        salon, salon_client, salon_booking, next_monday):
    # when
    response = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": next_monday.isoformat(), "time": "10:00"})

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["available"], body["staff_name"], body["branch_name"]) == (
        True, True, "Anna Becker", "Mitte")
    assert {k: body["slot"][k] for k in ("date", "start", "end", "staff", "branch")} == {
        "date": next_monday.isoformat(), "start": "10:00", "end": "10:30", "staff": "Anna Becker", "branch": "Mitte"}
    assert body["slot"]["starts_at"] == berlin(next_monday, "10:00").isoformat()
    assert body["message"] == f"Am {said(next_monday)}, ist um 10:00 Uhr bei Anna Becker frei."
    tuesday = next_monday + timedelta(days=1)
    assert [(a["date"], a["start"]) for a in body["alternatives"]] == [
        (next_monday.isoformat(), "11:00"), (tuesday.isoformat(), "09:00"), (tuesday.isoformat(), "10:00")]
    assert body["service"] == {"id": salon_booking["haarschnitt"].pk, "name": "Haarschnitt", "duration_minutes": 30,
                               "price_cents": 3500, "currency": "EUR"}


def test_a_taken_time_comes_back_with_the_next_three_alternatives_across_the_days(
        salon, salon_client, salon_booking, erika_haarschnitt, next_monday):
    # given: Anna is booked on Monday 10:00-10:30
    # when
    response = function_call(salon_client, "check-availability",
                             {"service": "haarschnit", "staff": "Anna", "date": next_monday.isoformat(), "time": "10 Uhr"})

    # then
    body = response.json()
    tuesday = next_monday + timedelta(days=1)
    assert (body["available"], body["slot"]) == (False, None)
    assert [(a["date"], a["start"], a["staff"]) for a in body["alternatives"]] == [
        (next_monday.isoformat(), "10:30", "Anna Becker"), (next_monday.isoformat(), "11:30", "Anna Becker"),
        (tuesday.isoformat(), "09:00", "Anna Becker")]
    assert body["message"] == (
        f"Am {said(next_monday)} um 10:00 Uhr ist leider schon belegt. Frei wäre am {said(next_monday)}, um 10:30 Uhr, "
        f"am {said(next_monday)}, um 11:30 Uhr oder am {said(tuesday)}, um 09:00 Uhr."
    )


def test_args_at_the_root_with_german_words_ask_for_a_day_and_get_free_times(salon, salon_client, salon_booking,
                                                                            next_monday):
    response = function_call(salon_client, "check-availability",
                             {"service": "haarschnitt", "staff": "Ben", "date": "nächsten Montag"}, root=True)

    body = response.json()
    assert response.status_code == 200
    assert body["available"] is True
    assert [(t["start"], t["staff"]) for t in body["free_times"]] == [
        ("10:00", "Ben Wagner"), ("11:00", "Ben Wagner"), ("12:00", "Ben Wagner")]
    assert body["message"] == f"Am {said(next_monday)}, ist frei um 10:00 Uhr, 11:00 Uhr oder 12:00 Uhr."


@pytest.mark.parametrize(("args", "code", "message"), [
    ({"service": "Pediküre", "date": "morgen"}, "SERVICE_NOT_FOUND",
     "Pediküre habe ich nicht gefunden. Zur Auswahl stehen: Haarschnitt."),
    ({"service": "Haarschnitt"}, "DATE_MISSING", "An welchem Tag möchten Sie kommen?"),
    ({"date": "morgen"}, "SERVICE_MISSING", "Welche Leistung möchten Sie buchen?"),
    ({"service": "Haarschnitt", "date": "2020-01-06"}, "DATE_IN_PAST",
     "Dieser Tag liegt in der Vergangenheit. Welcher Tag passt Ihnen?"),
    ({"service": "Haarschnitt", "date": "am Blumentag"}, "DATE_NOT_UNDERSTOOD",
     "Das Datum habe ich nicht verstanden. Können Sie es bitte noch einmal sagen?"),
])
def test_what_the_agent_cannot_use_comes_back_as_a_spoken_question(salon, salon_client, salon_booking, args, code,
                                                                   message):
    response = function_call(salon_client, "check-availability", args)

    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["error"]["code"], body["message"]) == (False, code, message)


def test_collect_appointment_summarises_without_writing(salon, salon_client, salon_booking, customer_erika,
                                                        next_monday):
    response = function_call(salon_client, "collect-appointment",
                             {"service": "Haarschnitt", "date": next_monday.isoformat(), "time": "14:00"})

    body = response.json()
    assert (body["ready"], body["missing"], body["customer_name"], body["customer_known"]) == (
        True, [], "Erika Mustermann", True)
    assert body["message"] == (
        f"Ich fasse zusammen: Haarschnitt am {said(next_monday)}, um 14:00 Uhr bei Anna Becker, für Erika Mustermann. "
        "Soll ich das so buchen?")
    assert appointments_in(salon) == []
    with tenant_context(salon):
        assert (Call.objects.count(), FunctionCallResult.objects.count()) == (0, 0)


def test_collect_appointment_asks_an_unknown_caller_for_the_name_and_creates_nobody(salon, salon_client,
                                                                                    salon_booking, next_monday):
    response = function_call(salon_client, "collect-appointment",
                             {"service": "Haarschnitt", "date": next_monday.isoformat(), "time": "14:00"},
                             from_number=NEW_CALLER)

    body = response.json()
    assert (body["ready"], body["missing"], body["message"]) == (
        False, ["name"], "Auf welchen Namen darf ich den Termin eintragen?")
    with tenant_context(salon):
        assert Customer.objects.count() == 0


def test_booking_makes_a_phone_appointment_linked_to_the_call_and_a_lead_becomes_a_prospect(
        salon, salon_client, salon_booking, next_monday, django_capture_on_commit_callbacks):
    # given: a first-time caller
    args = {"service": "Haarschnitt", "staff": "Ben", "date": next_monday.isoformat(), "time": "15:00",
            "name": "Jürgen Groß"}

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = function_call(salon_client, "book-appointment", args, call_id="call_book", from_number=NEW_CALLER)

    # then
    body = response.json()
    assert (response.status_code, body["success"]) == (200, True)
    assert body["message"] == (
        f"Ihr Termin für Haarschnitt am {said(next_monday)}, um 15:00 Uhr bei Ben Wagner ist gebucht.")
    assert appointments_in(salon) == [(NEW_CALLER, "Ben Wagner", berlin(next_monday, "15:00"), "confirmed", "phone")]
    with tenant_context(salon):
        appointment = Appointment.objects.get()
        assert body["appointment_id"] == appointment.pk
        assert appointment.history.first().history_change_reason == "booked by phone:call_book"
        call = Call.objects.get(call_id="call_book")
        assert (call.appointment_id, call.appointment_made, call.customer_id) == (appointment.pk, True,
                                                                                  appointment.customer_id)
        customer = Customer.objects.get()
        assert (customer.name, customer.phone, customer.journey_status) == ("Jürgen Groß", NEW_CALLER, "prospect")
        assert list(customer.journey_transitions.order_by("id").values_list("to_status", flat=True)) == [
            "lead", "prospect"]


def test_a_retried_booking_returns_the_same_appointment_and_books_once(salon, salon_client, salon_booking,
                                                                      next_monday):
    args = {"service": "Haarschnitt", "date": next_monday.isoformat(), "time": "16:00", "name": "Max Muster"}

    first = function_call(salon_client, "book-appointment", args, call_id="call_retry", from_number=NEW_CALLER)
    retried = function_call(salon_client, "book-appointment", args, call_id="call_retry", from_number=NEW_CALLER)
    # the same arguments in another order, args at the root
    reordered = function_call(salon_client, "book-appointment", dict(reversed(list(args.items()))),
                              call_id="call_retry", root=True)

    assert first.json() == retried.json() == reordered.json()
    assert len(appointments_in(salon)) == 1
    with tenant_context(salon):
        assert FunctionCallResult.objects.filter(call_id="call_retry").count() == 1


def test_booking_a_taken_slot_books_nothing_and_offers_alternatives(salon, salon_client, salon_booking,
                                                                   erika_haarschnitt, next_monday):
    args = {"service": "Haarschnitt", "staff": "Anna", "date": next_monday.isoformat(), "time": "10:00",
            "name": "Max Muster"}

    response = function_call(salon_client, "book-appointment", args, from_number=NEW_CALLER)

    body = response.json()
    assert (response.status_code, body["success"], body["error"]["code"], body["available"]) == (
        200, False, "SLOT_UNAVAILABLE", False)
    assert [a["start"] for a in body["alternatives"]] == ["10:30", "11:30", "09:00"]
    assert body["message"].startswith(f"Am {said(next_monday)} um 10:00 Uhr ist leider schon belegt. Frei wäre am ")
    assert len(appointments_in(salon)) == 1
    with tenant_context(salon):
        assert (FunctionCallResult.objects.count(), Customer.objects.filter(phone=NEW_CALLER).count()) == (0, 0)


def test_a_booking_without_any_caller_number_asks_for_it(salon, salon_client, salon_booking, next_monday):
    args = {"service": "Haarschnitt", "date": next_monday.isoformat(), "time": "15:00"}

    response = retell_web_call(salon_client, args)

    body = response.json()
    assert (body["success"], body["error"]["code"], body["message"]) == (
        False, "PHONE_MISSING", "Unter welcher Telefonnummer erreichen wir Sie?")
    assert appointments_in(salon) == []


def retell_web_call(client, args):
    from tests.fixtures.calls import retell_post

    return retell_post(client, "/api/retell/book-appointment", {
        "name": "book_appointment", "args": args,
        "call": {"call_type": "web_call", "call_id": "call_web", "agent_id": "agent_x"}})


def test_the_platform_url_books_for_the_tenant_of_the_dialled_number(salon, physio, public_client, salon_route,
                                                                     salon_booking, next_monday):
    args = {"service": "Haarschnitt", "date": next_monday.isoformat(), "time": "09:00", "name": "Max Muster"}

    response = function_call(public_client, "book-appointment", args, to_number=SALON_NUMBER, agent_id="agent_other",
                             from_number=NEW_CALLER)

    assert response.json()["success"] is True
    assert appointments_in(salon) == [(NEW_CALLER, "Anna Becker", berlin(next_monday, "09:00"), "confirmed", "phone")]
    assert appointments_in(physio) == []


def test_list_appointments_says_the_callers_upcoming_appointments(salon, salon_client, salon_booking,
                                                                  erika_haarschnitt, next_monday):
    response = function_call(salon_client, "list-appointments", {})

    body = response.json()
    assert (body["count"], body["appointments"][0]["appointment_id"]) == (1, erika_haarschnitt.pk)
    assert body["message"] == (
        f"Sie haben einen Termin: am {said(next_monday)}, um 10:00 Uhr: Haarschnitt bei Anna Becker.")


def test_rescheduling_moves_the_callers_appointment_through_the_policy(salon, salon_client, salon_booking,
                                                                       erika_haarschnitt, next_monday):
    tuesday = next_monday + timedelta(days=1)

    response = function_call(salon_client, "reschedule-appointment",
                             {"date": tuesday.isoformat(), "time": "11:00", "reason": "Termin verschoben"},
                             call_id="call_move")

    body = response.json()
    assert (body["success"], body["appointment_id"], body["policy_violation"], body["fee_cents"]) == (
        True, erika_haarschnitt.pk, False, 0)
    assert body["message"] == f"Erledigt: Ihr Termin für Haarschnitt ist jetzt am {said(tuesday)}, um 11:00 Uhr bei Anna Becker."
    assert appointments_in(salon) == [("+4915112345678", "Anna Becker", berlin(tuesday, "11:00"), "confirmed", "admin")]
    with tenant_context(salon):
        modification = AppointmentModification.objects.get()
        assert (modification.kind, modification.actor, modification.source) == ("reschedule", "phone:call_move", "phone")
        assert Call.objects.get(call_id="call_move").appointment_id == erika_haarschnitt.pk


def test_rescheduling_onto_a_taken_time_offers_alternatives_and_moves_nothing(salon, salon_client, salon_booking,
                                                                             erika_haarschnitt, next_monday):
    # given: Anna also has Ben's customer at 14:00
    with tenant_context(salon):
        from appointments.services import book_appointment
        other = Customer.objects.create(name="Max Muster", phone="+4917000000001")
        book_appointment(customer_id=other.pk, service_id=salon_booking["haarschnitt"].pk,
                         staff_id=salon_booking["anna"].pk, starts_at=berlin(next_monday, "14:00"),
                         source="admin", actor="admin:test")

    response = function_call(salon_client, "reschedule-appointment",
                             {"date": next_monday.isoformat(), "time": "14:00"})

    body = response.json()
    assert (body["success"], body["error"]["code"]) == (False, "SLOT_UNAVAILABLE")
    assert [(a["start"], a["staff"]) for a in body["alternatives"]] == [
        ("14:30", "Anna Becker"), ("15:30", "Anna Becker"), ("09:00", "Anna Becker")]
    with tenant_context(salon):
        assert Appointment.objects.get(pk=erika_haarschnitt.pk).starts_at == berlin(next_monday, "10:00")


def test_a_caller_with_two_appointments_is_asked_which_one(salon, salon_client, salon_booking, erika_haarschnitt,
                                                           customer_erika, next_monday):
    with tenant_context(salon):
        from appointments.services import book_appointment
        book_appointment(customer_id=customer_erika.pk, service_id=salon_booking["haarschnitt"].pk,
                         starts_at=berlin(next_monday + timedelta(days=2), "09:00"), source="admin", actor="admin:test")

    response = function_call(salon_client, "cancel-appointment", {})

    body = response.json()
    wednesday = next_monday + timedelta(days=2)
    assert (body["success"], body["error"]["code"]) == (False, "APPOINTMENT_AMBIGUOUS")
    assert body["message"] == (
        f"Welchen Termin meinen Sie: den am {said(next_monday)}, um 10:00 Uhr: Haarschnitt bei Anna Becker oder den am "
        f"{said(wednesday)}, um 09:00 Uhr: Haarschnitt bei Anna Becker?")
    assert [a["status"] for a in Appointment.objects.values("status")] == ["confirmed", "confirmed"]


def test_a_late_cancellation_with_a_fee_says_the_fee(salon, salon_client, salon_booking, erika_haarschnitt,
                                                     next_monday):
    with tenant_context(salon):
        PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24 * 30, fee_cents=1500,
                                           violation_action="charge_fee")

    response = function_call(salon_client, "cancel-appointment", {"reason": "krank"}, call_id="call_cancel")
    retried = function_call(salon_client, "cancel-appointment", {"reason": "krank"}, call_id="call_cancel")

    body = response.json()
    assert retried.json() == body
    assert (body["success"], body["status"], body["policy_violation"], body["fee_cents"], body["currency"]) == (
        True, "cancelled", True, 1500, "EUR")
    assert body["message"] == (
        f"Ihr Termin für Haarschnitt am {said(next_monday)}, um 10:00 Uhr ist storniert. "
        "Weil die Absage so kurzfristig ist, fällt eine Gebühr von 15 Euro an.")
    with tenant_context(salon):
        assert list(AppointmentModification.objects.values_list("kind", "fee_cents", "actor")) == [
            ("cancellation", 1500, "phone:call_cancel")]


def test_a_blocked_cancellation_is_refused_in_words_and_changes_nothing(salon, salon_client, salon_booking,
                                                                        erika_haarschnitt):
    with tenant_context(salon):
        PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24 * 30,
                                           violation_action="block")

    response = function_call(salon_client, "cancel-appointment", {})

    body = response.json()
    assert (body["success"], body["error"]["code"], body["message"]) == (
        False, "POLICY_VIOLATION",
        "Eine Absage ist so kurzfristig leider nicht mehr möglich. Soll ich einen Rückruf vom Team für Sie notieren?")
    with tenant_context(salon):
        assert Appointment.objects.get().status == "confirmed"
        assert (AppointmentModification.objects.count(), FunctionCallResult.objects.count()) == (0, 0)


def test_a_caller_cannot_touch_another_tenants_appointment_by_its_id(salon, physio, public_client, salon_route,
                                                                     salon_booking, erika_haarschnitt):
    # given: the same number calls the physio practice and names the salon's appointment id
    response = function_call(public_client, "cancel-appointment", {"appointment_id": erika_haarschnitt.pk},
                             to_number=PHYSIO_NUMBER, agent_id="agent_unknown")

    body = response.json()
    assert (body["success"], body["error"]["code"], body["message"]) == (
        False, "APPOINTMENT_NOT_FOUND", "Ich finde unter Ihrer Nummer keinen anstehenden Termin.")
    assert [row[3] for row in appointments_in(salon)] == ["confirmed"]


def test_a_caller_cannot_cancel_someone_elses_appointment_by_its_id(salon, salon_client, salon_booking,
                                                                    erika_haarschnitt, next_monday):
    with tenant_context(salon):
        Customer.objects.create(name="Max Muster", phone=NEW_CALLER)
        from appointments.services import book_appointment
        own = book_appointment(customer_id=Customer.objects.get(phone=NEW_CALLER).pk,
                               service_id=salon_booking["haarschnitt"].pk, starts_at=berlin(next_monday, "16:00"),
                               source="admin", actor="admin:test")

    response = function_call(salon_client, "cancel-appointment", {"appointment_id": erika_haarschnitt.pk},
                             from_number=NEW_CALLER)

    assert response.json()["error"]["code"] == "APPOINTMENT_NOT_FOUND"
    with tenant_context(salon):
        assert list(Appointment.objects.order_by("id").values_list("id", "status")) == [
            (erika_haarschnitt.pk, "confirmed"), (own.pk, "confirmed")]


def test_german_date_words_in_the_week_summer_time_starts_are_offered_and_booked_in_berlin_time(
        salon, salon_client, salon_booking):
    import datetime as dt

    import time_machine

    from tests.fixtures.appointments import BERLIN, add_hours

    # given: Anna also works on Sundays; it is Friday, 27 March 2026, two days before summer time
    with tenant_context(salon):
        add_hours(salon_booking["anna"], salon_booking["branch"], [6], "09:00", "18:00")
    with time_machine.travel(dt.datetime(2026, 3, 27, 9, 0, tzinfo=BERLIN), tick=False):
        # when: "morgen" at the last slot of Saturday (still winter time)
        saturday = function_call(salon_client, "check-availability",
                                 {"service": "Haarschnitt", "staff": "Anna", "date": "morgen", "time": "17:30"}).json()
        # and: "übermorgen, halb drei" is booked on the Sunday the clocks go forward
        sunday = function_call(salon_client, "book-appointment",
                               {"service": "Haarschnitt", "staff": "Anna", "date": "übermorgen", "time": "halb drei",
                                "name": "Max Muster"}, from_number=NEW_CALLER).json()
        # and: "nächsten Dienstag" is in summer time
        tuesday = function_call(salon_client, "check-availability",
                                {"service": "Haarschnitt", "date": "nächsten Dienstag", "time": "9 Uhr"}).json()

    # then
    assert saturday["slot"]["starts_at"] == "2026-03-28T17:30:00+01:00"
    assert saturday["message"] == "Am Samstag, 28. März, ist um 17:30 Uhr bei Anna Becker frei."
    assert [a["starts_at"] for a in saturday["alternatives"]] == [
        "2026-03-29T09:00:00+02:00", "2026-03-29T10:00:00+02:00", "2026-03-30T09:00:00+02:00"]
    assert sunday["appointment"]["starts_at"] == "2026-03-29T14:30:00+02:00"
    assert sunday["message"] == "Ihr Termin für Haarschnitt am Sonntag, 29. März, um 14:30 Uhr bei Anna Becker ist gebucht."
    assert appointments_in(salon) == [(NEW_CALLER, "Anna Becker", dt.datetime(2026, 3, 29, 12, 30, tzinfo=dt.UTC),
                                       "confirmed", "phone")]
    assert (tuesday["slot"]["starts_at"], tuesday["slot"]["staff"]) == ("2026-03-31T09:00:00+02:00", "Anna Becker")


def test_the_autumn_change_reads_sonntag_in_winter_time(salon, salon_client, salon_booking):
    import datetime as dt

    import time_machine

    from tests.fixtures.appointments import BERLIN, add_hours

    with tenant_context(salon):
        add_hours(salon_booking["anna"], salon_booking["branch"], [6], "09:00", "18:00")
    with time_machine.travel(dt.datetime(2026, 10, 22, 18, 0, tzinfo=BERLIN), tick=False):
        body = function_call(salon_client, "check-availability",
                             {"service": "Haarschnitt", "date": "Sonntag", "time": "10:00"}).json()

    assert body["slot"]["starts_at"] == "2026-10-25T10:00:00+01:00"
    assert body["message"] == "Am Sonntag, 25. Oktober, ist um 10:00 Uhr bei Anna Becker frei."


def test_the_hot_path_of_check_availability_is_a_handful_of_queries(salon, public_client, salon_route, salon_booking,
                                                                    next_monday, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from calls import function_args, functions

    # given: the short process-local caches of production (host, routing, catalog)
    settings.ASKPRO_TENANT_CACHE_SECONDS = 10
    function_args._catalogs.clear()
    functions._route_cache.clear()
    args = {"service": "Haarschnitt", "date": next_monday.isoformat(), "time": "10:00"}
    try:
        function_call(public_client, "check-availability", args, to_number=SALON_NUMBER)

        # when
        with CaptureQueriesContext(connection) as queries:
            body = function_call(public_client, "check-availability", args, to_number=SALON_NUMBER).json()
    finally:
        function_args._catalogs.clear()
        functions._route_cache.clear()

    # then: the schema switch and the slot search (busy times and the schedule token in one query;
    # staff, hours and overrides come from the process's schedule snapshot)
    assert body["available"] is True
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SET", "SELECT"]
    assert "appointments_schedule_generation" in queries.captured_queries[1]["sql"]
