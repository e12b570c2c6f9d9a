"""Public holidays per branch (its state, set in the admin or derived from the postal code) are
closures wherever availability is computed; extra hours open a branch on a holiday anyway."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from appointments.errors import SlotUnavailable
from appointments.models import AvailabilityOverride, Branch
from appointments.public_holidays import state_for
from appointments.queries import Closure, closure_on
from appointments.services import book_appointment, find_slots
from tests.fixtures.appointments import BERLIN, add_hours, berlin

DECEMBER = berlin(date(2026, 12, 1), "08:00")


def days_with_slots(service, staff, first: date, last: date) -> list[date]:
    slots = find_slots(service_id=service.pk, date_from=first, date_to=last, staff_id=staff.pk, now=DECEMBER)
    return sorted({slot.starts_at.astimezone(BERLIN).date() for slot in slots})


def test_christmas_and_new_year_have_no_slots_at_a_berlin_branch(anna, haarschnitt):
    # given: Anna works Monday to Saturday at Mitte (10119 Berlin)
    # when
    days = days_with_slots(haarschnitt, anna, date(2026, 12, 21), date(2027, 1, 2))

    # then: 25 and 26 December and 1 January are closed, 24 and 31 December are not
    assert days == [date(2026, 12, 21), date(2026, 12, 22), date(2026, 12, 23), date(2026, 12, 24),
                    date(2026, 12, 28), date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31),
                    date(2027, 1, 2)]


def test_the_branch_state_decides_which_days_are_holidays(anna, haarschnitt, branch_mitte):
    # given: Epiphany (6 January) is a holiday in Bavaria, not in Berlin
    assert days_with_slots(haarschnitt, anna, date(2027, 1, 6), date(2027, 1, 6)) == [date(2027, 1, 6)]

    # when the admin sets the branch to Bavaria
    branch_mitte.holiday_region = "BY"
    branch_mitte.save()

    # then
    assert days_with_slots(haarschnitt, anna, date(2027, 1, 6), date(2027, 1, 6)) == []


def test_a_branch_without_public_holidays_opens_on_christmas(anna, haarschnitt, branch_mitte):
    branch_mitte.holiday_region = "none"
    branch_mitte.save()

    assert days_with_slots(haarschnitt, anna, date(2026, 12, 25), date(2026, 12, 25)) == [date(2026, 12, 25)]


def test_extra_hours_open_a_branch_on_a_holiday(anna, haarschnitt, branch_mitte):
    AvailabilityOverride.objects.create(staff=anna, branch=branch_mitte, kind="extra_hours",
                                        date_from=date(2026, 12, 26), date_until=date(2026, 12, 26),
                                        start_time="10:00", end_time="11:00")

    slots = find_slots(service_id=haarschnitt.pk, date_from=date(2026, 12, 26), staff_id=anna.pk, now=DECEMBER)

    assert [slot.starts_at.astimezone(BERLIN).strftime("%H:%M") for slot in slots] == ["10:00", "10:15", "10:30"]


def test_booking_on_a_holiday_is_refused_and_books_nothing(anna, haarschnitt, customer_erika):
    with pytest.raises(SlotUnavailable):
        book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                         starts_at=berlin(date(2026, 12, 25), "10:00"), source="admin", actor="admin:7", now=DECEMBER)

    assert customer_erika.appointments.count() == 0


def test_a_closed_day_is_told_apart_from_a_full_one(anna, haarschnitt, branch_mitte):
    with time_machine.travel(DECEMBER, tick=False):
        find_slots(service_id=haarschnitt.pk, date_from=date(2026, 12, 25), now=DECEMBER)  # loads the snapshot

        assert closure_on(date(2026, 12, 25)) == Closure(holiday="Erster Weihnachtstag")
        assert closure_on(date(2026, 12, 27)) == Closure(holiday="")  # a Sunday: nobody works
        assert closure_on(date(2026, 12, 28)) is None


@pytest.mark.parametrize(("region", "postal_code", "state"), [
    ("", "10119", "BE"), ("", "80331", "BY"), ("", "20095", "HH"), ("", "", "BE"), ("", "A-1010", "BE"),
    ("NW", "10119", "NW"), ("none", "80331", None),
])
def test_the_state_comes_from_the_setting_else_the_postal_code_else_berlin(region, postal_code, state):
    assert state_for(region, postal_code) == state


def test_a_hamburg_branch_without_a_setting_keeps_hamburgs_holidays(in_salon, haarschnitt):
    # given: Reformation Day (31 October) is a holiday in Hamburg, not in Berlin
    hamburg = Branch.objects.create(name="Hafen", postal_code="20095", city="Hamburg")
    staff = haarschnitt.staff.create(name="Hanna")
    staff.branches.add(hamburg)
    add_hours(staff, hamburg, range(0, 6), "09:00", "18:00")

    slots = find_slots(service_id=haarschnitt.pk, date_from=date(2028, 10, 30), date_to=date(2028, 11, 1),
                       staff_id=staff.pk, now=berlin(date(2028, 10, 1), "08:00"))

    # then: Tuesday 31 October 2028 is closed
    assert sorted({slot.starts_at.astimezone(BERLIN).date() for slot in slots}) == [
        date(2028, 10, 30), date(2028, 11, 1)]
