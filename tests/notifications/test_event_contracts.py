"""Each domain event, driven by its REAL producer (the service that emits it) and delivered
through the outbox to its REAL listener, with the listener's effect asserted.

Celery runs inline here (tests/notifications/conftest.py): after the commit the outbox dispatcher
runs in this process, as a worker would.
"""

from __future__ import annotations

import json

from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from appointments.services import book_appointment, cancel_appointment, reschedule_appointment
from billing import services as billing
from billing.models import Topup, UsageRecord
from calls import services as calls
from integrations.models import OutboxEffect
from notifications.models import NotificationDelivery, NotificationSettings
from tests.calls.test_call_events import payloads
from tests.conftest import SALON_HOST
from tests.fixtures.appointments import berlin


def _book(customer, service, staff, day, hhmm="10:00", **kwargs):
    return book_appointment(customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk,
                            starts_at=berlin(day, hhmm), source="phone", actor="phone:call_1", **kwargs)


def _customer_messages() -> list[tuple[str, str, str]]:
    return list(NotificationDelivery.objects.order_by("pk").values_list("event", "recipient", "status"))


def test_appointment_booked_confirms_it_to_the_customer(customer_erika, haarschnitt, anna, next_monday,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _book(customer_erika, haarschnitt, anna, next_monday)

    assert _customer_messages() == [("appointment_confirmed", "erika@example.com", "sent")]
    assert set(OutboxEffect.objects.values_list("status", flat=True)) == {"done"}


def test_appointment_rescheduled_tells_the_customer_the_new_time(customer_erika, haarschnitt, anna, next_monday,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(customer_erika, haarschnitt, anna, next_monday)
        reschedule_appointment(appointment_id=appointment.pk, new_starts_at=berlin(next_monday, "15:00"),
                               source="phone", actor="phone:call_1")

    assert _customer_messages() == [
        ("appointment_confirmed", "erika@example.com", "sent"),
        ("appointment_rescheduled", "erika@example.com", "sent"),
    ]
    moved = NotificationDelivery.objects.get(event="appointment_rescheduled")
    assert "15:00" in moved.body and "10:00" in moved.body  # the new and the old time


def test_appointment_cancelled_tells_the_customer(customer_erika, haarschnitt, anna, next_monday,
                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(customer_erika, haarschnitt, anna, next_monday)
        cancel_appointment(appointment_id=appointment.pk, source="phone", actor="phone:call_1", reason="krank")

    assert [event for event, _to, _status in _customer_messages()] == ["appointment_confirmed", "appointment_cancelled"]


def test_a_cancellation_through_the_booking_api_with_notify_customer_false_tells_nobody(
        api_key, customer_erika, haarschnitt, anna, next_monday, django_capture_on_commit_callbacks):
    # given a booking the customer was told about
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(customer_erika, haarschnitt, anna, next_monday)

    # when the integration cancels it and says it tells the customer itself
    with django_capture_on_commit_callbacks(execute=True):
        response = Client(HTTP_HOST=SALON_HOST).delete(
            f"/api/v2/bookings/{appointment.pk}", data=json.dumps({"reason": "Krank", "notify_customer": False}),
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")

    # then
    assert response.status_code == 200
    assert [event for event, _to, _status in _customer_messages()] == ["appointment_confirmed"]


def test_a_booking_without_notification_tells_nobody(customer_erika, haarschnitt, anna, next_monday,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(customer_erika, haarschnitt, anna, next_monday, notify_customer=False)
        reschedule_appointment(appointment_id=appointment.pk, new_starts_at=berlin(next_monday, "15:00"),
                               source="calcom", actor="calcom", notify_customer=False)

    assert _customer_messages() == []


def test_call_ended_charges_the_call_once(in_salon, django_capture_on_commit_callbacks):
    events = payloads("call_contract")
    with django_capture_on_commit_callbacks(execute=True):
        calls.apply_call_event(events["call_ended"])
        calls.apply_call_event(events["call_analyzed"])

    usage = UsageRecord.objects.get()
    assert (usage.call_id, usage.duration_seconds, usage.account.tenant_id) == ("call_contract", 95, in_salon.pk)


def _business_contact(salon) -> None:
    with tenant_context(salon):
        NotificationSettings.objects.update_or_create(pk=1, defaults={"business_email": "chefin@salon.example"})


def _business_messages(salon) -> list[tuple[str, str, str]]:
    with tenant_context(salon):
        return list(NotificationDelivery.objects.order_by("pk").values_list("event", "subject", "status"))


def test_topup_completed_confirms_the_top_up_to_the_business(salon, salon_account, django_capture_on_commit_callbacks):
    _business_contact(salon)
    Topup.objects.create(account=salon_account, amount_cents=5000, stripe_payment_intent_id="pi_contract")

    with schema_context("public"), django_capture_on_commit_callbacks(execute=True):
        billing.complete_topup(payment_intent_id="pi_contract", amount_cents=5000)

    assert _business_messages(salon) == [("topup_completed", "Guthaben aufgeladen: 50,00 €", "sent")]


def test_payment_failed_of_a_top_up_tells_the_business(salon, salon_account, django_capture_on_commit_callbacks):
    _business_contact(salon)
    Topup.objects.create(account=salon_account, amount_cents=2500, stripe_payment_intent_id="pi_declined")

    with schema_context("public"), django_capture_on_commit_callbacks(execute=True):
        billing.fail_topup(payment_intent_id="pi_declined", reason="Karte abgelehnt")

    assert _business_messages(salon) == [("payment_failed", "Zahlung fehlgeschlagen: 25,00 €", "sent")]


def test_an_event_owed_to_a_listener_waits_in_the_outbox_until_delivered(customer_erika, haarschnitt, anna,
                                                                         next_monday):
    # given a booking committed, its effects not yet delivered (no commit hook ran: a lost publish)
    appointment = _book(customer_erika, haarschnitt, anna, next_monday)

    # then the effects are stored, one per listener, and nothing was sent yet
    owed = sorted(OutboxEffect.objects.values_list("payload__listener", "status", "schema_name"))
    assert owed == [
        ("appointments.listeners.recompute_customer_journey", "pending", "salon_schmidt"),
        ("integrations.calcom.listeners.push_to_calcom", "pending", "salon_schmidt"),
        ("notifications.listeners.notify_customer_of_appointment_change", "pending", "salon_schmidt"),
    ]
    assert NotificationDelivery.objects.count() == 0

    # when the sweeper's delivery runs
    from askpro import outbox

    outbox.deliver_pending()

    # then the confirmation exists (its send is queued after this test's transaction would commit)
    assert _customer_messages() == [("appointment_confirmed", "erika@example.com", "pending")]
    assert NotificationDelivery.objects.get().appointment_id == appointment.pk
    assert set(OutboxEffect.objects.values_list("status", flat=True)) == {"done"}


