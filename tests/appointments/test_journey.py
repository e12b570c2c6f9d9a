"""The journey status follows the customer's real history (seed 3.4), unless set by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments import journey, services
from appointments.models import Appointment, Customer, CustomerJourneyTransition
from askpro.errors import ValidationFailed


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the after-commit hooks and the outbox effects (the journey listens to them) of what happens inside."""
    from contextlib import contextmanager

    from tests.fixtures.hooks import deliver_outbox

    @contextmanager
    def run():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        deliver_outbox()

    return run


def _book(customer, service, anna, when):
    return services.book_appointment(customer_id=customer.pk, service_id=service.pk, starts_at=when,
                                     staff_id=anna.pk, source="admin", actor="admin:test")


def _status(customer) -> str:
    return Customer.objects.get(pk=customer.pk).journey_status


@pytest.mark.parametrize(("facts", "expected"), [
    (journey.History(completed=0, planned=0, revenue_cents=0, last_activity=None), "lead"),
    (journey.History(completed=0, planned=1, revenue_cents=0, last_activity=None), "prospect"),
    (journey.History(completed=1, planned=0, revenue_cents=3500, last_activity=timezone.now()), "customer"),
    (journey.History(completed=3, planned=0, revenue_cents=10500, last_activity=timezone.now()), "regular"),
    (journey.History(completed=30, planned=1, revenue_cents=105000, last_activity=timezone.now()), "vip"),
    (journey.History(completed=3, planned=0, revenue_cents=10500,
                     last_activity=timezone.now() - timedelta(days=91)), "at_risk"),
    (journey.History(completed=3, planned=1, revenue_cents=10500,
                     last_activity=timezone.now() - timedelta(days=91)), "regular"),
    (journey.History(completed=1, planned=0, revenue_cents=3500,
                     last_activity=timezone.now() - timedelta(days=400)), "churned"),
])
def test_the_status_is_derived_from_the_history(facts, expected):
    assert journey.derive(facts) == expected


def test_booking_and_completing_move_a_lead_to_customer(customer_erika, haarschnitt, anna, next_monday, committed):
    from tests.fixtures.appointments import berlin

    assert _status(customer_erika) == "lead"
    with committed():
        appointment = _book(customer_erika, haarschnitt, anna, berlin(next_monday, "10:00"))
    assert _status(customer_erika) == "prospect"

    Appointment.objects.filter(pk=appointment.pk).update(starts_at=appointment.starts_at - timedelta(days=14),
                                                         ends_at=appointment.ends_at - timedelta(days=14))
    with committed():
        for step in ("in_progress", "completed"):
            services.transition_appointment(appointment_id=appointment.pk, to_status=step, source="admin",
                                            actor="admin:test")

    assert _status(customer_erika) == "customer"
    assert list(CustomerJourneyTransition.objects.filter(customer=customer_erika).order_by("pk")
                .values_list("from_status", "to_status")) == [("lead", "prospect"), ("prospect", "customer")]


def test_cancelling_the_only_appointment_makes_a_prospect_a_lead_again(erika_haarschnitt, committed):
    assert journey.recompute(erika_haarschnitt.customer_id) == "prospect"

    with committed():
        services.cancel_appointment(appointment_id=erika_haarschnitt.pk, reason="krank", source="admin",
                                    actor="admin:test")

    assert _status(erika_haarschnitt.customer) == "lead"


def test_a_status_set_by_hand_needs_a_reason_and_stays_until_the_history_changes(erika_haarschnitt, committed):
    customer = erika_haarschnitt.customer
    journey.recompute(customer.pk)
    with pytest.raises(ValidationFailed):
        journey.set_manually(customer.pk, "vip", reason=" ", actor="admin:1")
    assert _status(customer) == "prospect"

    journey.set_manually(customer.pk, "vip", reason="Stammkundin der Inhaberin", actor="admin:1")
    with committed():
        services.cancel_appointment(appointment_id=erika_haarschnitt.pk, reason="krank", source="admin",
                                    actor="admin:test")

    # the cancellation really changed her history (no appointment planned any more): the manual status ends
    assert _status(customer) == "lead"
    reasons = list(CustomerJourneyTransition.objects.filter(customer=customer).order_by("pk").values_list("reason", flat=True))
    assert "Stammkundin der Inhaberin" in reasons
    assert not Customer.objects.get(pk=customer.pk).journey_manual
    assert journey.resume_automatic(customer.pk, actor="admin:1") == "lead"


def test_recompute_all_fixes_every_customer_of_the_schema(erika_haarschnitt):
    Customer.objects.filter(pk=erika_haarschnitt.customer_id).update(journey_status="churned")
    Customer.objects.create(name="Neu", phone="+4915100000001")

    changed = journey.recompute_all()

    assert changed == 1  # Erika churned -> prospect; the new customer stays a lead
    assert _status(erika_haarschnitt.customer) == "prospect"
