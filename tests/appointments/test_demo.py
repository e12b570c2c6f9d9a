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


def test_the_demo_customers_journey_matches_their_appointments(in_salon):
    from django.db.models import Count, Q

    from appointments.models import Customer

    # when
    demo.seed_tenant(in_salon)
    demo.finish_demo_tenant(in_salon)

    # then: nobody with a completed appointment is still a lead or prospect
    customers = Customer.objects.annotate(done=Count("appointments", filter=Q(appointments__status="completed")))
    assert not customers.filter(done__gt=0, journey_status__in=["lead", "prospect"]).exists()
    assert customers.filter(done__gt=0).count() > 10
    assert {"customer", "regular"} & set(customers.values_list("journey_status", flat=True))
