from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from appointments.availability import SegmentRequest
from appointments.errors import SlotUnavailable
from appointments.models import Appointment, AvailabilityOverride, Service, ServiceSegment, Staff
from appointments.services import book_appointment, find_slots
from tests.appointments.conftest import DST_SUNDAY, MONDAY, NOW, local_times
from tests.fixtures.appointments import add_hours, berlin


def _book(customer, service, staff, day, hhmm, **kwargs):
    return book_appointment(
        customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk, starts_at=berlin(day, hhmm),
        source="admin", actor="admin:test", now=NOW, **kwargs,
    )


def test_slots_of_anna_on_a_monday_run_every_15_minutes_around_her_lunch_break(anna, haarschnitt):
    # when
    slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, staff_id=anna.pk, now=NOW)

    # then
    times = local_times(slots)
    assert times[:3] == ["09:00", "09:15", "09:30"]
    assert times[9:13] == ["11:15", "11:30", "12:30", "12:45"]
    assert times[-1] == "17:30"
    assert len(times) == 32
    assert {slot.staff_id for slot in slots} == {anna.pk}
    assert slots[0].ends_at - slots[0].starts_at == timedelta(minutes=30)


def test_an_existing_booking_and_both_buffers_block_the_slots_around_it(anna, haarschnitt, customer_erika):
    # given a 15-minute clean-up after each Haarschnitt and one booking at 10:00
    haarschnitt.buffer_after_minutes = 15
    haarschnitt.save()
    _book(customer_erika, haarschnitt, anna, MONDAY, "10:00")

    # when
    slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, staff_id=anna.pk, now=NOW)

    # then 09:30 would end 10:00 but its own buffer reaches 10:15; 10:30 hits the 10:30-10:45 buffer
    assert local_times(slots)[:6] == ["09:00", "09:15", "10:45", "11:00", "11:15", "11:30"]


def test_a_buffer_before_keeps_a_gap_after_the_previous_booking(anna, haarschnitt, customer_erika):
    # given
    _book(customer_erika, haarschnitt, anna, MONDAY, "10:00")
    haarschnitt.buffer_before_minutes = 10
    haarschnitt.save()

    # when
    slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, staff_id=anna.pk, now=NOW)

    # then 09:45 would block until 10:15 and 10:30 would block from 10:20: both hit 10:00-10:30
    assert local_times(slots)[:5] == ["09:00", "09:15", "09:30", "10:45", "11:00"]


def test_the_minimum_notice_hides_slots_that_start_too_soon(anna, haarschnitt):
    # when it is 10:05 and the notice is 60 minutes
    slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, staff_id=anna.pk, now=berlin(MONDAY, "10:05"))

    # then
    assert local_times(slots)[0] == "11:15"


def test_days_beyond_the_maximum_advance_have_no_slots(anna, haarschnitt):
    # given
    haarschnitt.max_advance_days = 7
    haarschnitt.save()

    # when
    within = find_slots(service_id=haarschnitt.pk, date_from=MONDAY + timedelta(days=7), staff_id=anna.pk, now=NOW)
    beyond = find_slots(service_id=haarschnitt.pk, date_from=MONDAY + timedelta(days=8), staff_id=anna.pk, now=NOW)

    # then
    assert len(within) == 32
    assert beyond == []


def test_the_slot_interval_sets_the_grid(anna, haarschnitt):
    # given
    haarschnitt.slot_interval_minutes = 30
    haarschnitt.save()

    # when
    slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, staff_id=anna.pk, now=NOW)

    # then
    assert local_times(slots)[:4] == ["09:00", "09:30", "10:00", "10:30"]
    assert len(slots) == 17  # 09:00-17:30 without 12:00


def test_slots_on_the_dst_sunday_keep_berlin_wall_clock_times(anna, haarschnitt, branch_mitte):
    # given Anna works Saturday and Sunday 09:00-13:00 (Sunday is the spring-forward day)
    add_hours(anna, branch_mitte, [6], "09:00", "13:00")

    # when
    saturday = find_slots(service_id=haarschnitt.pk, date_from=DST_SUNDAY - timedelta(days=1), staff_id=anna.pk, now=NOW)
    sunday = find_slots(service_id=haarschnitt.pk, date_from=DST_SUNDAY, staff_id=anna.pk, now=NOW)

    # then 09:00 is 08:00 UTC on Saturday (CET) and 07:00 UTC on Sunday (CEST)
    assert saturday[0].starts_at == datetime(2028, 3, 25, 8, 0, tzinfo=UTC)
    assert sunday[0].starts_at == datetime(2028, 3, 26, 7, 0, tzinfo=UTC)
    assert local_times(sunday) == [f"{h:02d}:{m:02d}" for h in range(9, 13) for m in (0, 15, 30, 45)][:-1]


def test_a_shift_across_the_spring_forward_hour_only_offers_real_times(anna, haarschnitt, branch_mitte):
    # given a night shift 01:00-04:00 on the DST Sunday: 02:00-03:00 does not exist
    add_hours(anna, branch_mitte, [6], "01:00", "04:00")

    # when
    slots = find_slots(service_id=haarschnitt.pk, date_from=DST_SUNDAY, staff_id=anna.pk, now=NOW)

    # then two real hours: 01:00-02:00 CET and 03:00-04:00 CEST
    assert local_times(slots) == ["01:00", "01:15", "01:30", "01:45", "03:00", "03:15", "03:30"]
    assert slots[3].ends_at - slots[3].starts_at == timedelta(minutes=30)
    assert slots[-1].ends_at == datetime(2028, 3, 26, 2, 0, tzinfo=UTC)


def test_slots_after_the_autumn_change_are_at_the_same_wall_clock_time(anna, haarschnitt):
    # when
    slots = find_slots(service_id=haarschnitt.pk, date_from=datetime(2027, 11, 1).date(), staff_id=anna.pk,
                       now=berlin(datetime(2027, 10, 20).date(), "08:00"))

    # then 09:00 CET is 08:00 UTC again
    assert slots[0].starts_at == datetime(2027, 11, 1, 8, 0, tzinfo=UTC)
    assert len(slots) == 32


def test_a_closed_branch_day_has_no_slots_for_anyone(anna, ben, haarschnitt, branch_mitte):
    # given
    AvailabilityOverride.objects.create(branch=branch_mitte, kind="closed", date_from=MONDAY, date_until=MONDAY,
                                        reason="Ostermontag")

    # when
    monday = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)
    tuesday = find_slots(service_id=haarschnitt.pk, date_from=MONDAY + timedelta(days=1), now=NOW)

    # then
    assert monday == []
    assert len(tuesday) == 35  # 09:00-17:30; Ben covers Anna's break


def test_a_vacation_blocks_only_that_staff_member(anna, ben, haarschnitt):
    # given
    AvailabilityOverride.objects.create(staff=anna, kind="vacation", date_from=MONDAY - timedelta(days=2),
                                        date_until=MONDAY + timedelta(days=2))

    # when
    slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)

    # then
    assert {slot.staff_ids for slot in slots} == {(ben.pk,)}
    assert local_times(slots)[0] == "10:00"


def test_a_partial_absence_removes_only_those_hours(anna, haarschnitt):
    # given a doctor's appointment 14:00-16:00
    AvailabilityOverride.objects.create(staff=anna, kind="closed", date_from=MONDAY, date_until=MONDAY,
                                        start_time=time(14), end_time=time(16))

    # when
    times = local_times(find_slots(service_id=haarschnitt.pk, date_from=MONDAY, staff_id=anna.pk, now=NOW))

    # then
    assert "13:30" in times and "16:00" in times
    assert not [t for t in times if "13:30" < t < "16:00"]


def test_extra_hours_add_slots_after_closing(anna, haarschnitt, branch_mitte):
    # given
    AvailabilityOverride.objects.create(staff=anna, branch=branch_mitte, kind="extra_hours", date_from=MONDAY,
                                        date_until=MONDAY, start_time=time(18), end_time=time(20))

    # when
    times = local_times(find_slots(service_id=haarschnitt.pk, date_from=MONDAY, staff_id=anna.pk, now=NOW))

    # then working hours and extra hours merge into one evening
    assert times[-4:] == ["18:45", "19:00", "19:15", "19:30"]
    assert "17:45" in times


def test_any_staff_lists_everyone_free_and_proposes_the_least_busy(anna, ben, haarschnitt, customer_erika):
    # given Anna has a booking at 14:00
    _book(customer_erika, haarschnitt, anna, MONDAY, "14:00")

    # when
    found = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, now=NOW)
    slots = dict(zip(local_times(found), found, strict=True))

    # then
    assert slots["09:00"].staff_ids == (anna.pk,)
    assert slots["12:00"].staff_ids == (ben.pk,)  # Anna's break
    assert slots["14:00"].staff_ids == (ben.pk,)
    assert set(slots["15:00"].staff_ids) == {anna.pk, ben.pk}
    assert slots["15:00"].staff_id == ben.pk  # Ben has nothing booked that day


def test_a_staff_member_who_does_not_perform_the_service_has_no_slots(anna, ben, branch_mitte):
    # given
    faerben = Service.objects.create(name="Färben", duration_minutes=60)
    anna.services.add(faerben)

    # when
    ben_slots = find_slots(service_id=faerben.pk, date_from=MONDAY, staff_id=ben.pk, now=NOW)
    any_slots = find_slots(service_id=faerben.pk, date_from=MONDAY, now=NOW)

    # then
    assert ben_slots == []
    assert {slot.staff_id for slot in any_slots} == {anna.pk}


def _faerben(haarschnitt: Service, anna: Staff) -> Service:
    """Colour: wash (any stylist), colour (Anna only), 30 min processing, dry (any stylist)."""
    colour_skill = Service.objects.create(name="Farbe auftragen", duration_minutes=30)
    anna.services.add(colour_skill)
    service = Service.objects.create(name="Färben", duration_minutes=90, price_cents=8900)
    ServiceSegment.objects.create(service=service, position=0, name="Waschen", duration_minutes=15,
                                  qualification=haarschnitt)
    ServiceSegment.objects.create(service=service, position=1, name="Farbe", duration_minutes=30,
                                  gap_after_minutes=30, qualification=colour_skill)
    ServiceSegment.objects.create(service=service, position=2, name="Föhnen", duration_minutes=15,
                                  qualification=haarschnitt)
    return service


def test_a_composite_service_fits_its_segments_back_to_back_with_the_gap_free(anna, haarschnitt, customer_erika):
    # given Anna has a Haarschnitt 10:45-11:15, inside the colour's processing gap
    faerben = _faerben(haarschnitt, anna)
    _book(customer_erika, haarschnitt, anna, MONDAY, "10:45")

    # when
    slots = find_slots(service_id=faerben.pk, date_from=MONDAY, staff_id=anna.pk, now=NOW)

    # then 10:00 works: wash 10:00, colour 10:15-10:45, gap, dry 11:15-11:30
    by_time = dict(zip(local_times(slots), slots, strict=True))
    slot = by_time["10:00"]
    assert [(s.name, s.staff_id, s.starts_at.astimezone(berlin(MONDAY, "00:00").tzinfo).strftime("%H:%M"))
            for s in slot.segments] == [("Waschen", anna.pk, "10:00"), ("Farbe", anna.pk, "10:15"),
                                        ("Föhnen", anna.pk, "11:15")]
    assert slot.ends_at - slot.starts_at == timedelta(minutes=90)
    assert "10:15" not in by_time  # its drying (11:30) would need Anna who is free, but colour 10:30-11:00 hits 10:45


def test_a_composite_booking_can_hand_segments_to_another_stylist(anna, ben, haarschnitt, customer_erika):
    # given Anna is busy 11:15-11:45, when the drying of a 10:00 colour would start
    faerben = _faerben(haarschnitt, anna)
    _book(customer_erika, haarschnitt, anna, MONDAY, "11:15")

    # when
    slots = find_slots(service_id=faerben.pk, date_from=MONDAY, now=NOW)

    # then Ben dries
    slot = dict(zip(local_times(slots), slots, strict=True))["10:00"]
    assert [s.staff_id for s in slot.segments] == [anna.pk, anna.pk, ben.pk]


def test_an_ad_hoc_sequence_of_services_is_searched_like_a_composite(anna, haarschnitt):
    # given
    bart = Service.objects.create(name="Bart", duration_minutes=15)
    anna.services.add(bart)

    # when
    slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, staff_id=anna.pk, now=NOW,
                       sequence=[SegmentRequest(haarschnitt.pk, 30), SegmentRequest(bart.pk, None)])

    # then
    assert local_times(slots)[:2] == ["09:00", "09:15"]
    assert [(s.service_id, s.ends_at - s.starts_at) for s in slots[0].segments] == [
        (haarschnitt.pk, timedelta(minutes=30)), (bart.pk, timedelta(minutes=15))]
    assert "11:30" not in local_times(slots)  # would run into the break at 12:00
    assert "11:15" in local_times(slots)


def test_slots_search_uses_a_fixed_small_number_of_queries(anna, ben, haarschnitt, customer_erika,
                                                           django_assert_max_num_queries):
    # given
    _book(customer_erika, haarschnitt, anna, MONDAY, "10:00")

    # when / then
    with django_assert_max_num_queries(6):
        slots = find_slots(service_id=haarschnitt.pk, date_from=MONDAY, date_to=MONDAY + timedelta(days=13), now=NOW)
    assert len(slots) > 300


def test_the_bitset_path_finds_exactly_the_slots_of_the_exact_sweep(anna, ben, haarschnitt, customer_erika):
    # given a random but reproducible week of bookings with buffers on both sides
    import random

    from appointments.availability import AvailabilityContext, plan_for

    haarschnitt.buffer_before_minutes, haarschnitt.buffer_after_minutes = 5, 10
    haarschnitt.save()
    rng = random.Random(7)
    for _ in range(40):
        day = MONDAY + timedelta(days=rng.randint(0, 5))
        staff = rng.choice([anna, ben])
        minutes = rng.choice(range(0, 9 * 60, 5))
        try:
            book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=staff.pk,
                             starts_at=berlin(day, "09:00") + timedelta(minutes=minutes), source="admin",
                             actor="admin:test", now=NOW, check_availability=False)
        except SlotUnavailable:  # a clash is part of the random layout
            continue
    assert Appointment.objects.count() > 20

    # when both algorithms run for every staff member and day
    for duration in (20, 30, 45):
        context = AvailabilityContext(plan_for(haarschnitt, duration_minutes=duration), date_from=MONDAY,
                                      date_to=MONDAY + timedelta(days=6), now=berlin(MONDAY, "10:07"))
        branch_id = next(iter(context.branch_tz))
        for data in context.staff.values():
            for offset in range(7):
                day = MONDAY + timedelta(days=offset)
                earliest = context._bounds(branch_id, day)[0]
                # then
                assert context._bitset_starts(data, branch_id, day, earliest) == context._simple_starts(
                    data, branch_id, day), (duration, data.staff_id, day)
