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


def test_the_demo_week_is_believable(in_salon):
    from datetime import timedelta

    from django.utils import timezone

    from appointments.models import AvailabilityOverride

    # when
    demo.seed_tenant(in_salon)

    # then: spread over days and staff, nothing on Sundays, holidays or during absences
    tz = timezone.get_default_timezone()
    now = timezone.now()
    rows = list(Appointment.objects.values_list("starts_at", "ends_at", "staff_id", "status"))
    days = {start.astimezone(tz).date() for start, _end, _staff, _status in rows}
    assert not [d for d in days if d.weekday() == 6]
    assert not [d for d in days if demo.is_holiday(d)]
    for override in AvailabilityOverride.objects.filter(staff__isnull=False, kind="vacation"):
        assert not Appointment.objects.filter(
            staff=override.staff, starts_at__date__gte=override.date_from,
            starts_at__date__lte=override.date_until).exists()
    per_day_and_staff = {}
    for start, _end, staff, _status in rows:
        key = (start.astimezone(tz).date(), staff)
        per_day_and_staff[key] = per_day_and_staff.get(key, 0) + 1
    assert max(per_day_and_staff.values()) <= 18  # 20-minute beard trims over a nine-hour day at most
    # the past is settled, the future is open
    assert not [r for r in rows if r[1] < now and r[3] in ("pending", "confirmed", "in_progress")]
    assert not [r for r in rows if r[0] > now and r[3] in ("completed", "no_show", "in_progress")]
    upcoming = {start.astimezone(tz).date() for start, _e, _s, status in rows
                if now.date() <= start.date() <= (now + timedelta(days=7)).date() and status != "cancelled"}
    assert len(upcoming) >= 4


def test_the_demo_has_customer_values_notes_of_each_type_and_one_duplicate_pair(in_salon):
    from appointments import merge
    from appointments.models import CustomerBookingStats, CustomerNote

    # when
    demo.seed_tenant(in_salon)
    demo.finish_demo_tenant(in_salon)
    demo.seed_tenant(in_salon)

    # then
    stats = CustomerBookingStats.objects.filter(value_computed_at__isnull=False)
    assert stats.filter(engagement_score__gt=0).count() > 10
    assert stats.filter(total_revenue_cents__gt=0).exists()
    assert {"general", "complaint", "feedback", "medical"} <= set(CustomerNote.objects.values_list("type", flat=True))
    assert CustomerNote.objects.filter(is_pinned=True).exists()
    pairs = [pair for pair in merge.duplicate_pairs() if "email" in pair.reasons]
    assert len(pairs) == 1 and set(pairs[0].reasons) == {"email", "name"}


def test_the_salon_demo_has_a_login_limited_to_prenzlauer_berg(salon, in_salon):
    from django.contrib.auth import get_user_model

    from appointments import access
    from tenants import services as tenant_services

    # given: the demo logins exist (tenants.demo creates them before the apps seed)
    tenant_services.create_tenant_user(salon, email="clara@salon-schmidt.example", role="staff", password="x" * 12)

    # when
    demo.seed_tenant(in_salon)
    demo.seed_tenant(in_salon)

    # then
    clara = get_user_model().objects.get(username="clara@salon-schmidt.example")
    assert list(access.visible_branches(clara).values_list("name", flat=True)) == ["Prenzlauer Berg"]
    assert Staff.objects.get(name="Clara Hoffmann").user == clara
    visible = access.scope_appointments(Appointment.objects.all(), clara)
    assert 0 < visible.count() < Appointment.objects.count()
    assert set(visible.values_list("branch__name", flat=True)) == {"Prenzlauer Berg"}
