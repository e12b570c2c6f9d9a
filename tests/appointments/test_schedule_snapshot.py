"""The availability engine keeps each tenant's schedule per process and checks it against the
database's schedule token in the same query as the busy times, so a search never sees an outdated
schedule, whoever changed it (services, admin, bulk updates, raw SQL) and even after rollbacks."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from appointments import schedule_snapshot as schedules
from appointments.errors import InvalidBookingRequest
from appointments.models import Service, Staff
from appointments.services import find_slots
from tests.appointments.conftest import MONDAY, NOW, local_times


def _anna_monday(anna, haarschnitt) -> list[str]:  # type: ignore[no-untyped-def]
    return local_times(find_slots(service_id=haarschnitt.pk, date_from=MONDAY, staff_id=anna.pk, now=NOW))


def test_a_search_with_a_current_snapshot_is_one_query(anna, ben, haarschnitt):
    # given a search that loaded the snapshot
    find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)

    # when
    with CaptureQueriesContext(connection) as queries:
        slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)

    # then the busy times and the schedule token come in one round trip
    assert len(queries) == 1
    assert "appointments_schedule_generation" in queries[0]["sql"]
    assert {staff for slot in slots for staff in slot.staff_ids} == {anna.pk, ben.pk}


def test_working_hours_changed_by_raw_sql_are_seen_by_the_next_search(anna, haarschnitt):
    # given
    assert _anna_monday(anna, haarschnitt)[0] == "09:00"

    # when a writer that bypasses Django moves Anna's Mondays to the afternoon
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE appointments_workinghour SET start_time = '14:00', break_start = NULL, break_end = NULL "
            "WHERE staff_id = %s AND weekday = 0",
            [anna.pk],
        )

    # then
    times = _anna_monday(anna, haarschnitt)
    assert times[0] == "14:00"
    assert len(times) == 15  # 14:00 .. 17:30


def test_a_bulk_deactivation_of_a_staff_member_hides_her_slots_at_once(anna, ben, haarschnitt):
    # given
    find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)

    # when
    Staff.objects.filter(pk=anna.pk).update(is_active=False)

    # then
    slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)
    assert {staff for slot in slots for staff in slot.staff_ids} == {ben.pk}


def test_a_rolled_back_schedule_change_leaves_no_trace_in_later_searches(anna, haarschnitt):
    # given
    before = _anna_monday(anna, haarschnitt)

    # when a change is searched with inside a transaction that then rolls back
    with pytest.raises(RuntimeError), transaction.atomic():
        Staff.objects.filter(pk=anna.pk).update(is_active=False)
        assert _anna_monday(anna, haarschnitt) == []
        raise RuntimeError("roll back")

    # then
    assert _anna_monday(anna, haarschnitt) == before
    assert len(before) == 32


def test_a_service_created_after_the_snapshot_is_searchable_at_once(anna, haarschnitt):
    # given a snapshot without it
    find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)
    farbe = Service.objects.create(name="Farbe", duration_minutes=60, slot_interval_minutes=30)
    anna.services.add(farbe)

    # when
    slots = find_slots(service_id=farbe.pk, date_from=MONDAY, now=NOW)

    # then
    assert local_times(slots)[:3] == ["09:00", "09:30", "10:00"]


def test_a_deactivated_service_is_refused_although_the_snapshot_still_had_it(anna, haarschnitt):
    # given
    find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)

    # when
    Service.objects.filter(pk=haarschnitt.pk).update(is_active=False)

    # then
    with pytest.raises(InvalidBookingRequest):
        find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)


def test_each_tenant_has_its_own_snapshot(anna, haarschnitt, physio, physio_lena, krankengymnastik):
    # given Salon Schmidt's snapshot is loaded
    find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)

    # when Physio Nord searches
    with tenant_context(physio):
        slots = find_slots(service_id=krankengymnastik.pk, date_from=MONDAY, now=NOW)
        physio_snapshot = schedules.cached()

    # then it sees its own staff and services only
    assert {staff for slot in slots for staff in slot.staff_ids} == {physio_lena.pk}
    assert physio_snapshot is not None and physio_snapshot is not schedules.cached()
    assert set(physio_snapshot.services) == {krankengymnastik.pk}
    assert set(physio_snapshot.staff) == {physio_lena.pk}
