"""What callers and agents send that used to go wrong: the same slot booked twice in one call,
compound service words, and answers longer than Retell reads."""

from __future__ import annotations

import json

from django_tenants.utils import tenant_context

from appointments.models import Appointment, Service
from tests.fixtures.appointments import berlin
from tests.fixtures.calls import function_call, said

NEW_CALLER = "+4917055566677"


def test_the_same_slot_booked_again_in_the_same_call_is_already_booked_for_the_caller(
        salon, salon_client, salon_booking, next_monday):
    args = {"service": "Haarschnitt", "staff": "Anna", "date": next_monday.isoformat(), "time": "10:30",
            "name": "Max Muster"}
    first = function_call(salon_client, "book-appointment", args, call_id="call_twice", from_number=NEW_CALLER)

    # when: the agent books again with the time written differently
    again = function_call(salon_client, "book-appointment", {**args, "time": "10.30"}, call_id="call_twice",
                          from_number=NEW_CALLER)

    # then
    body = again.json()
    assert (body["success"], body["already_booked"], body["appointment_id"]) == (
        True, True, first.json()["appointment_id"])
    assert body["message"] == (
        f"Dieser Termin ist schon für Sie gebucht: Haarschnitt am {said(next_monday)}, um 10:30 Uhr bei Anna Becker.")
    with tenant_context(salon):
        assert list(Appointment.objects.values_list("starts_at", "status")) == [
            (berlin(next_monday, "10:30"), "confirmed")]


def test_another_call_booking_the_same_slot_is_still_told_it_is_taken(salon, salon_client, salon_booking,
                                                                      next_monday):
    args = {"service": "Haarschnitt", "staff": "Anna", "date": next_monday.isoformat(), "time": "10:30",
            "name": "Max Muster"}
    function_call(salon_client, "book-appointment", args, call_id="call_a", from_number=NEW_CALLER)

    body = function_call(salon_client, "book-appointment", {**args, "time": "10.30"}, call_id="call_b",
                         from_number="+4917000000002").json()

    assert (body["success"], body["error"]["code"]) == (False, "SLOT_UNAVAILABLE")


def test_a_compound_service_word_finds_the_service_named_the_other_way_round(salon, salon_client, salon_booking,
                                                                            next_monday):
    with tenant_context(salon):
        for name in ("Haarschnitt Damen", "Haarschnitt Herren"):
            service = Service.objects.create(name=name, duration_minutes=30, price_cents=3000)
            salon_booking["anna"].services.add(service)

    body = function_call(salon_client, "check-availability",
                         {"service": "Herrenhaarschnitt", "date": next_monday.isoformat(), "time": "09:00"}).json()

    assert (body["success"], body["service"]["name"], body["available"]) == (True, "Haarschnitt Herren", True)


def test_a_100_kb_service_name_gets_a_short_answer_that_does_not_echo_it(salon, salon_client, salon_booking):
    huge = "Haarschnitt" + "x" * 100_000

    response = function_call(salon_client, "check-availability", {"service": huge, "date": "morgen"})

    text = response.content.decode()
    assert response.status_code == 200
    assert len(text) < 2_000
    body = json.loads(text)
    assert (body["success"], body["error"]["code"]) == (False, "SERVICE_NOT_FOUND")
    assert body["message"] == ("Haarschnitt" + "x" * 68 + "… habe ich nicht gefunden. Zur Auswahl stehen: Haarschnitt.")


def test_every_answer_is_capped_below_retells_limit():
    from calls.functions import MAX_ANSWER_CHARS, capped

    answer = {"success": True, "message": "Hallo " * 1000, "alternatives": [{"name": "x" * 5000}] * 50,
              "note": "y" * 100_000}

    cut = capped(answer)

    assert len(json.dumps(cut, ensure_ascii=False)) <= MAX_ANSWER_CHARS < 15_000
    assert (cut["success"], cut["truncated"], len(cut["alternatives"]), len(cut["note"])) == (True, True, 10, 300)
    assert cut["message"] == ("Hallo " * 1000)[:2999] + "…"
    assert capped({"success": True, "message": "kurz"}) == {"success": True, "message": "kurz"}
