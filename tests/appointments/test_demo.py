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
