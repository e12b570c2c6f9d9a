from __future__ import annotations

import datetime as dt
import zoneinfo

from calls import speech

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def test_a_free_slot_is_said_the_way_a_receptionist_says_it():
    moment = dt.datetime(2025, 10, 14, 12, 0, tzinfo=dt.UTC)

    assert speech.slot_free(moment, BERLIN) == "Am Dienstag, 14. Oktober, ist um 14:00 Uhr frei."


def test_a_taken_slot_offers_the_alternatives():
    moment = dt.datetime(2025, 10, 14, 12, 0, tzinfo=dt.UTC)
    alternatives = [dt.datetime(2025, 10, 14, 14, 30, tzinfo=dt.UTC), dt.datetime(2025, 10, 15, 7, 0, tzinfo=dt.UTC),
                    dt.datetime(2025, 10, 27, 9, 0, tzinfo=dt.UTC)]

    assert speech.slot_taken_with_alternatives(moment, alternatives, BERLIN) == (
        "Am Dienstag, 14. Oktober um 14:00 Uhr ist leider schon belegt. Frei wäre am Dienstag, 14. Oktober, "
        "um 16:30 Uhr, am Mittwoch, 15. Oktober, um 09:00 Uhr oder am Montag, 27. Oktober, um 10:00 Uhr."
    )


def test_a_booking_is_confirmed_with_service_time_and_staff():
    moment = dt.datetime(2025, 3, 31, 7, 0, tzinfo=dt.UTC)  # first day of summer time

    assert speech.booked(moment, BERLIN, "Haarschnitt", "Anna") == (
        "Ihr Termin für Haarschnitt am Montag, 31. März, um 09:00 Uhr bei Anna ist gebucht."
    )
