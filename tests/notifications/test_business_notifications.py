from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from billing.models import BillingAccount
from billing.services import adjust_balance
from calls.services import escalate_overdue_callbacks, request_callback
from notifications import queries, services
from notifications.models import NotificationDelivery, NotificationSettings
from tenants.services import create_tenant_user
from tests.fixtures.billing import fund


def test_a_low_balance_in_billing_emails_every_admin_of_that_tenant_only(
        salon, physio, salon_account, django_capture_on_commit_callbacks):
    # given two admins and a receptionist at the salon, a balance of 20 EUR and a warning below 10 EUR
    create_tenant_user(salon, email="sabine@salon.example", role="admin", password="x" * 12)
    create_tenant_user(salon, email="markus@salon.example", role="admin", password="x" * 12)
    create_tenant_user(salon, email="lena@salon.example", role="receptionist", password="x" * 12)
    BillingAccount.objects.filter(pk=salon_account.pk).update(low_balance_threshold_cents=1000)
    fund(salon_account, 2000)

    # when billing (public schema) books a correction down to 4,50 EUR
    with schema_context("public"), django_capture_on_commit_callbacks(execute=True):
        adjust_balance(salon, amount_cents=-1550, reason="Korrektur", actor="operator")

    # then
    with tenant_context(salon):
        deliveries = list(NotificationDelivery.objects.order_by("recipient"))
        assert [(d.event, d.channel, d.recipient, d.status) for d in deliveries] == [
            ("low_balance", "email", "markus@salon.example", "sent"),
            ("low_balance", "email", "sabine@salon.example", "sent"),
        ]
        assert deliveries[0].subject == "Guthaben niedrig: 4,50 €"
        assert "das Guthaben von Salon Schmidt beträgt nur noch 4,50 €" in deliveries[0].body
    with tenant_context(physio):
        assert NotificationDelivery.objects.count() == 0


def test_two_failed_stripe_invoices_on_one_day_are_two_messages(
        salon, salon_account, stripe_webhook, django_capture_on_commit_callbacks):
    # given
    BillingAccount.objects.filter(pk=salon_account.pk).update(stripe_customer_id="cus_salon")
    with tenant_context(salon):
        NotificationSettings.objects.update_or_create(pk=1, defaults={"business_email": "buchhaltung@salon.example"})

    # when Stripe reports two different invoices failing (posted to the webhook, processed by the worker's task)
    with schema_context("public"), django_capture_on_commit_callbacks(execute=True):
        for invoice_id, amount in (("in_first", 1900), ("in_second", 2500)):
            assert stripe_webhook("invoice.payment_failed", _stripe_invoice(invoice_id, amount, salon_account)) == "processed"

    # then
    with tenant_context(salon):
        assert sorted(NotificationDelivery.objects.values_list("event", "subject", "status")) == [
            ("payment_failed", "Zahlung fehlgeschlagen: 19,00 €", "sent"),
            ("payment_failed", "Zahlung fehlgeschlagen: 25,00 €", "sent"),
        ]


def _stripe_invoice(invoice_id: str, amount_cents: int, account) -> dict:
    return {
        "id": invoice_id, "object": "invoice", "customer": "cus_salon",
        "status": "open", "amount_due": amount_cents, "amount_paid": 0, "currency": "eur",
        "metadata": {"tenant": account.tenant.slug}, "number": f"ST-{invoice_id}",
    }


def test_a_business_without_any_address_gets_a_skipped_record_with_the_reason(in_salon):
    delivery, = services.notify_business(in_salon, "payment_failed", {"amount": "10,00 €"}, ref="payment_intent_id:pi_1")

    assert (delivery.status, delivery.skip_reason, delivery.recipient) == ("skipped", "no_address", "")


def test_a_callback_request_reaches_the_business_with_the_callers_number_and_a_readable_reason(
        in_salon, django_capture_on_commit_callbacks):
    NotificationSettings.objects.update_or_create(pk=1, defaults={"business_email": "team@salon.example"})

    with django_capture_on_commit_callbacks(execute=True):
        request_callback(phone="+4915199999999", name="Max Mustermann", reason="question", details="Frage zum Färben")

    delivery = NotificationDelivery.objects.get()
    assert (delivery.event, delivery.status, delivery.subject) == ("callback_requested", "sent", "Rückruf erbeten: Max Mustermann")
    assert delivery.body == (
        "Ein Anrufer bittet um Rückruf.\n\nName: Max Mustermann\nTelefon: +4915199999999\n"
        "Anliegen: Frage, die der Agent nicht beantworten konnte: Frage zum Färben"
    )


def test_an_overdue_callback_tells_the_business_once_per_escalation(in_salon, django_capture_on_commit_callbacks):
    NotificationSettings.objects.update_or_create(pk=1, defaults={"business_email": "team@salon.example"})
    long_ago = timezone.now() - dt.timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        request_callback(phone="+4915199999999", name="Max Mustermann", reason="wants_person", now=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        escalate_overdue_callbacks()
        escalate_overdue_callbacks()  # not overdue again: nothing new

    escalated = NotificationDelivery.objects.get(event="callback_escalated")
    assert (escalated.status, escalated.subject) == ("sent", "Rückruf überfällig: Max Mustermann")
    assert escalated.body == (
        "Ein erbetener Rückruf ist überfällig (Priorität jetzt: Hoch).\n\n"
        "Name: Max Mustermann\nTelefon: +4915199999999\nAnliegen: Wollte eine Person sprechen"
    )


def test_the_time_zone_is_the_tenants_own_and_berlin_for_a_schema_without_a_tenant_row(salon, physio):
    from tenants.models import Tenant

    Tenant.objects.filter(pk=physio.pk).update(time_zone="Europe/Lisbon")
    physio.refresh_from_db()
    with tenant_context(salon):
        salon_zone = queries.tenant_timezone()
    with tenant_context(physio):
        physio_zone = queries.tenant_timezone()
    with schema_context("tenant_row_gone"):
        fallback_zone = queries.tenant_timezone()

    assert [str(zone) for zone in (salon_zone, physio_zone, fallback_zone)] == ["Europe/Berlin", "Europe/Lisbon", "Europe/Berlin"]
