from __future__ import annotations

from appointments import demo
from appointments.models import (
    Appointment,
    AppointmentSegment,
    Branch,
    Service,
    ServiceSegment,
    Staff,
)


def test_the_salon_demo_is_complete_and_seeding_twice_changes_nothing(in_salon):
    # when
    demo.seed_tenant(in_salon)
    counts = (Branch.objects.count(), Staff.objects.count(), Service.objects.count(), Appointment.objects.count())
    demo.seed_tenant(in_salon)

    # then
    assert counts[:3] == (2, 4, 6)
    assert counts[3] > 300
    assert (Branch.objects.count(), Staff.objects.count(), Service.objects.count(),
            Appointment.objects.count()) == counts
    assert ServiceSegment.objects.filter(service__name="Färben").count() == 3
    assert AppointmentSegment.objects.count() >= Appointment.objects.count()
    assert not Appointment.objects.filter(segments__isnull=True).exists()


def test_the_demo_books_nothing_on_public_holidays(in_salon):
    import datetime as dt

    import time_machine

    from tests.fixtures.appointments import BERLIN

    # given: seeding in December, when Christmas and New Year lie in the demo's weeks
    with time_machine.travel(dt.datetime(2026, 12, 10, 9, 0, tzinfo=BERLIN), tick=False):
        demo.seed_tenant(in_salon)

    days = {starts.astimezone(BERLIN).date() for starts in Appointment.objects.values_list("starts_at", flat=True)}
    assert {dt.date(2026, 12, 23), dt.date(2026, 12, 28)} <= days
    assert days & {dt.date(2026, 12, 25), dt.date(2026, 12, 26), dt.date(2027, 1, 1)} == set()
