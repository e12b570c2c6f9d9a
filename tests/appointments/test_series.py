from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest
from django.utils import timezone

from appointments.errors import PolicyViolation
from appointments.models import Appointment, PolicyConfiguration, RecurringSeries
from appointments.services import book_appointment, create_series
from tests.appointments.conftest import MONDAY, NOW
from tests.fixtures.appointments import berlin


def _series(customer, service, staff, **kwargs):
    return create_series(
        customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk,
        first_starts_at=kwargs.pop("first", berlin(MONDAY, "10:00")), source="admin", actor="admin:7", now=NOW,
        **kwargs,
    )


def test_a_weekly_series_books_every_free_week_and_reports_the_taken_one(anna, haarschnitt, customer_erika):
    # given the third Monday at 10:00 is taken
    book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                     starts_at=berlin(MONDAY + timedelta(weeks=2), "10:00"), source="admin", actor="admin:7", now=NOW)

    # when
    result = _series(customer_erika, haarschnitt, anna, frequency="weekly", count=4)

    # then
    assert [timezone.localtime(a.starts_at).strftime("%Y-%m-%d %H:%M") for a in result.appointments] == [
        "2027-03-22 10:00", "2027-03-29 10:00", "2027-04-12 10:00"]
    assert [c.starts_at for c in result.conflicts] == [berlin(MONDAY + timedelta(weeks=2), "10:00")]
    assert result.conflicts[0].code == "SLOT_UNAVAILABLE"
    assert len(result.conflicts[0].alternatives) == 3
    series = RecurringSeries.objects.get()
    assert series.conflicts[0]["starts_at"] == berlin(MONDAY + timedelta(weeks=2), "10:00").isoformat()
    assert Appointment.objects.filter(series=series).count() == 3


def test_a_weekly_series_keeps_the_wall_clock_time_across_the_dst_change(anna, haarschnitt, customer_erika):
    result = _series(customer_erika, haarschnitt, anna, frequency="weekly", count=2)

    # 10:00 CET is 09:00 UTC, 10:00 CEST a week later is 08:00 UTC
    assert [a.starts_at.astimezone(UTC).hour for a in result.appointments] == [9, 8]


def test_a_biweekly_series_until_a_date_stops_there(anna, haarschnitt, customer_erika):
    result = _series(customer_erika, haarschnitt, anna, frequency="biweekly", until=MONDAY + timedelta(days=30))

    assert [timezone.localtime(a.starts_at).date() for a in result.appointments] == [
        MONDAY, MONDAY + timedelta(weeks=2), MONDAY + timedelta(weeks=4)]


def test_a_monthly_series_on_the_31st_falls_back_to_the_last_day_of_short_months(anna, haarschnitt,
                                                                                  customer_erika):
    # given Saturday 31 July 2027 (Anna works Saturdays) with the search window allowing it
    haarschnitt.max_advance_days = 365
    haarschnitt.save()
    first = berlin(date(2027, 7, 31), "10:00")

    result = _series(customer_erika, haarschnitt, anna, frequency="monthly", count=3, first=first)

    # then 31 Aug is a Tuesday, 30 Sep a Thursday: all working days for Anna
    assert [timezone.localtime(a.starts_at).date() for a in result.appointments] == [
        date(2027, 7, 31), date(2027, 8, 31), date(2027, 9, 30)]


def test_a_series_shorter_than_a_blocking_recurring_policy_allows_is_refused(anna, haarschnitt, customer_erika):
    PolicyConfiguration.objects.create(policy_type="recurring", min_series_length=4, violation_action="block")

    with pytest.raises(PolicyViolation) as refused:
        _series(customer_erika, haarschnitt, anna, frequency="weekly", count=2)

    assert refused.value.details["violations"] == ["min_series_length"]
    assert RecurringSeries.objects.count() == 0
    assert Appointment.objects.count() == 0


def test_each_booked_occurrence_emits_booked_with_the_series(anna, haarschnitt, customer_erika, events,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = _series(customer_erika, haarschnitt, anna, frequency="weekly", count=2)

    assert [(e.event_name, e.series_id) for e in events] == [
        ("appointment.booked", result.series.pk), ("appointment.booked", result.series.pk)]
