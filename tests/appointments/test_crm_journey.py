"""The journey per event and per tenant thresholds; a status set by hand lasts until the history
really changes (seed 3.4)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from appointments import journey, services
from appointments.models import Appointment, Customer, CustomerJourneyTransition
from tests.fixtures.appointments import berlin


def _status(customer) -> tuple[str, bool]:
    row = Customer.objects.get(pk=customer.pk)
    return row.journey_status, row.journey_manual


def _in_the_past(appointment, days: int = 14) -> None:
    Appointment.objects.filter(pk=appointment.pk).update(starts_at=appointment.starts_at - timedelta(days=days),
                                                         ends_at=appointment.ends_at - timedelta(days=days))


def _complete(appointment, after_commit) -> None:
    with after_commit():
        for step in ("in_progress", "completed"):
            services.transition_appointment(appointment_id=appointment.pk, to_status=step, source="admin",
                                            actor="admin:test")


def test_a_manual_status_lasts_through_the_nightly_pass_and_ends_when_the_history_changes(
        erika_haarschnitt, after_commit):
    customer = erika_haarschnitt.customer
    journey.recompute(customer.pk)
    journey.set_manually(customer.pk, "vip", reason="Freundin der Inhaberin", actor="user:1")

    journey.recompute_all()  # the nightly pass: nothing really changed
    assert _status(customer) == ("vip", True)

    _in_the_past(erika_haarschnitt)
    _complete(erika_haarschnitt, after_commit)  # a real change: her first completed appointment

    assert _status(customer) == ("customer", False)
    last = CustomerJourneyTransition.objects.filter(customer=customer).order_by("pk").last()
    assert (last.from_status, last.to_status, last.actor) == ("vip", "customer", "admin:test")


def _book(customer, service, staff, day, hhmm, after_commit):
    with after_commit():
        return services.book_appointment(customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk,
                                         starts_at=berlin(day, hhmm), source="admin", actor="admin:test")


def test_a_booking_makes_a_lead_a_prospect(customer_erika, haarschnitt, anna, next_monday, after_commit):
    _book(customer_erika, haarschnitt, anna, next_monday, "10:00", after_commit)

    assert _status(customer_erika) == ("prospect", False)


def test_completions_make_a_customer_then_a_regular_at_the_tenants_threshold(
        customer_erika, haarschnitt, anna, next_monday, after_commit):
    from appointments.models import CrmSettings

    CrmSettings.objects.create(regular_min_completed=2)
    first = _book(customer_erika, haarschnitt, anna, next_monday, "10:00", after_commit)
    second = _book(customer_erika, haarschnitt, anna, next_monday, "11:00", after_commit)
    _in_the_past(first, days=21)
    _in_the_past(second, days=14)

    _complete(first, after_commit)
    assert _status(customer_erika) == ("customer", False)
    _complete(second, after_commit)
    assert _status(customer_erika) == ("regular", False)


def test_vip_by_revenue_at_the_tenants_threshold(customer_erika, haarschnitt, anna, next_monday, after_commit):
    from appointments.models import CrmSettings

    CrmSettings.objects.create(vip_min_revenue_cents=1, vip_min_completed=0)
    appointment = _book(customer_erika, haarschnitt, anna, next_monday, "10:00", after_commit)
    Appointment.objects.filter(pk=appointment.pk).update(price_cents=4000)
    _in_the_past(appointment)

    _complete(appointment, after_commit)

    assert _status(customer_erika) == ("vip", False)


def test_a_no_show_of_the_only_appointment_makes_a_prospect_a_lead_again(
        customer_erika, haarschnitt, anna, next_monday, after_commit):
    appointment = _book(customer_erika, haarschnitt, anna, next_monday, "10:00", after_commit)
    _in_the_past(appointment, days=30)

    with after_commit():
        services.transition_appointment(appointment_id=appointment.pk, to_status="no_show", source="admin",
                                        actor="admin:test")

    assert _status(customer_erika) == ("lead", False)


def test_a_cancellation_makes_a_prospect_a_lead_again(erika_haarschnitt, after_commit):
    journey.recompute(erika_haarschnitt.customer_id)

    with after_commit():
        services.cancel_appointment(appointment_id=erika_haarschnitt.pk, reason="krank", source="admin",
                                    actor="admin:test")

    assert _status(erika_haarschnitt.customer) == ("lead", False)


def test_a_booking_brings_an_at_risk_customer_back(customer_erika, haarschnitt, anna, branch_mitte, next_monday,
                                                   after_commit):
    start = timezone.now() - timedelta(days=120)
    Appointment.objects.create(customer=customer_erika, service=haarschnitt, staff=anna, branch=branch_mitte,
                               starts_at=start, ends_at=start + timedelta(minutes=30), status="completed")
    journey.recompute(customer_erika.pk)
    assert _status(customer_erika) == ("at_risk", False)

    _book(customer_erika, haarschnitt, anna, next_monday, "10:00", after_commit)

    assert _status(customer_erika) == ("customer", False)


def test_the_nightly_pass_moves_inactive_customers_by_the_tenants_thresholds(customer_erika, haarschnitt, anna,
                                                                             branch_mitte):
    from appointments.models import CrmSettings
    from appointments.tasks import recompute_journeys

    CrmSettings.objects.create(at_risk_after_days=30, churned_after_days=60)
    start = timezone.now() - timedelta(days=45)
    Appointment.objects.create(customer=customer_erika, service=haarschnitt, staff=anna, branch=branch_mitte,
                               starts_at=start, ends_at=start + timedelta(minutes=30), status="completed")
    Customer.objects.filter(pk=customer_erika.pk).update(journey_status="customer")

    journey.recompute_all()
    assert _status(customer_erika) == ("at_risk", False)

    journey.recompute_all(now=timezone.now() + timedelta(days=20))
    assert _status(customer_erika) == ("churned", False)
    assert list(CustomerJourneyTransition.objects.filter(customer=customer_erika).order_by("pk")
                .values_list("from_status", "to_status")) == [("customer", "at_risk"), ("at_risk", "churned")]
    assert recompute_journeys.name == "appointments.recompute_journeys"


def test_a_manual_status_set_before_baselines_were_kept_stays(erika_haarschnitt):
    customer = erika_haarschnitt.customer
    Customer.objects.filter(pk=customer.pk).update(journey_status="vip", journey_manual=True)

    journey.recompute_all()

    assert _status(customer) == ("vip", True)
    assert Customer.objects.get(pk=customer.pk).journey_manual_baseline == "prospect"
