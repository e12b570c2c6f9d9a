"""Engagement score, loyalty, revenue (seed 3.4) on a hand-computed example; kept current by events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from appointments import crm, services
from appointments.crm import Activity, engagement_score
from appointments.models import Appointment, CrmSettings, Customer, CustomerBookingStats
from calls.models import Call
from tests.fixtures.appointments import berlin


def _appointment(customer, service, staff, branch, *, days_ago: int, status: str, price_cents: int = 3500):
    start = timezone.now() - timedelta(days=days_ago)
    return Appointment.objects.create(customer=customer, service=service, staff=staff, branch=branch, starts_at=start,
                                      ends_at=start + timedelta(minutes=30), status=status, price_cents=price_cents)


@pytest.fixture
def erika_history(customer_erika, haarschnitt, anna, branch_mitte):
    """Five appointments (3 completed at 35 €, the last 10 days ago; 1 no-show; 1 cancelled) and 2 calls."""
    for days, status in ((100, "completed"), (60, "completed"), (10, "completed"), (40, "no_show"), (30, "cancelled")):
        _appointment(customer_erika, haarschnitt, anna, branch_mitte, days_ago=days, status=status)
    for number, days in ((1, 50), (2, 45)):
        Call.objects.create(call_id=f"call_value_{number}", direction="inbound", customer=customer_erika,
                            started_at=timezone.now() - timedelta(days=days))
    return customer_erika


def test_the_score_and_loyalty_match_the_formula_on_a_hand_computed_example(erika_history):
    # given the defaults (10 points per completed appointment, silver from 100)
    # when
    crm.refresh_customer(erika_history.pk)

    # then: 5x10 + 3x5 + 2x3 + 20 (visit 10 days ago) - 1x5 - 1x2 = 84; a regular, not a VIP
    stats = CustomerBookingStats.objects.get(customer=erika_history)
    assert Customer.objects.get(pk=erika_history.pk).journey_status == "regular"
    assert (stats.engagement_score, stats.appointment_count, stats.completed_count, stats.no_show_count,
            stats.cancelled_count, stats.call_count) == (84, 5, 3, 1, 1, 2)
    assert (stats.loyalty_points, stats.loyalty_tier) == (30, "bronze")
    assert (stats.total_revenue_cents, stats.average_booking_value_cents) == (10500, 3500)


def test_the_tenants_thresholds_change_tier_journey_and_the_vip_bonus(erika_history):
    CrmSettings.objects.create(points_per_completed_appointment=50, silver_min_points=100, gold_min_points=200,
                               vip_min_completed=3)

    crm.refresh_customer(erika_history.pk)

    stats = CustomerBookingStats.objects.get(customer=erika_history)
    assert Customer.objects.get(pk=erika_history.pk).journey_status == "vip"
    assert (stats.loyalty_points, stats.loyalty_tier) == (150, "silver")
    assert stats.engagement_score == 84 + 50


@pytest.mark.parametrize(("activity", "expected"), [
    (Activity(appointments=0, completed=0, no_shows=0, cancelled=0, calls=0, last_activity=None, is_vip=False), 0),
    (Activity(appointments=1, completed=0, no_shows=1, cancelled=0, calls=0, last_activity=None, is_vip=False), 5),
    (Activity(appointments=2, completed=0, no_shows=0, cancelled=2, calls=0, last_activity=None, is_vip=False), 16),
    (Activity(appointments=0, completed=0, no_shows=3, cancelled=5, calls=0, last_activity=None, is_vip=False), 0),
    (Activity(appointments=90, completed=80, no_shows=0, cancelled=0, calls=10, last_activity=None, is_vip=True), 1000),
])
def test_the_score_stays_between_0_and_1000(activity, expected):
    assert engagement_score(activity) == expected


def test_the_recency_bonus_counts_30_days_and_not_31():
    now = timezone.now()
    base = dict(appointments=1, completed=1, no_shows=0, cancelled=0, calls=0, is_vip=False)
    assert engagement_score(Activity(**base, last_activity=now - timedelta(days=30)), now=now) == 35
    assert engagement_score(Activity(**base, last_activity=now - timedelta(days=31)), now=now) == 15


def test_booking_and_completing_update_the_stored_value_through_the_events(
        customer_erika, haarschnitt, anna, next_monday, after_commit):
    with after_commit():
        appointment = services.book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk,
                                                starts_at=berlin(next_monday, "10:00"), staff_id=anna.pk,
                                                source="admin", actor="admin:test")
    stats = CustomerBookingStats.objects.get(customer=customer_erika)
    assert (stats.appointment_count, stats.engagement_score, stats.loyalty_points) == (1, 10, 0)

    Appointment.objects.filter(pk=appointment.pk).update(starts_at=appointment.starts_at - timedelta(days=14),
                                                         ends_at=appointment.ends_at - timedelta(days=14))
    with after_commit():
        for step in ("in_progress", "completed"):
            services.transition_appointment(appointment_id=appointment.pk, to_status=step, source="admin",
                                            actor="admin:test")

    stats.refresh_from_db()
    price = Appointment.objects.get(pk=appointment.pk).price_cents
    assert (stats.completed_count, stats.loyalty_points, stats.total_revenue_cents) == (1, 10, price)
    assert stats.engagement_score == 10 + 5 + 20


def test_showing_the_customer_does_not_recompute(erika_history, role_client):
    response = role_client("admin").get(f"/admin/appointments/customer/{erika_history.pk}/change/")

    assert response.status_code == 200
    assert not CustomerBookingStats.objects.filter(customer=erika_history, value_computed_at__isnull=False).exists()


def test_the_command_recomputes_every_customer_and_is_idempotent(erika_history, salon, capsys):
    call_command("recompute_customer_values", "--schema", salon.schema_name)
    call_command("recompute_customer_values", "--schema", salon.schema_name)

    stats = CustomerBookingStats.objects.get(customer=erika_history)
    assert (stats.engagement_score, stats.loyalty_points) == (84, 30)
    assert f"{salon.schema_name}: 1 customers, 1 journeys changed" in capsys.readouterr().out.splitlines()[0]


def test_the_command_refuses_an_unknown_schema(salon):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("recompute_customer_values", "--schema", "nobody")
