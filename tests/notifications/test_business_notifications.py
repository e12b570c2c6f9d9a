from __future__ import annotations

from django_tenants.utils import schema_context, tenant_context

from askpro import hooks
from notifications import queries, services
from notifications.models import NotificationDelivery, NotificationSettings
from tenants.services import create_tenant_user


def test_a_low_balance_in_billing_emails_every_admin_of_that_tenant_only(salon, physio, django_capture_on_commit_callbacks):
    # given two admins and a receptionist at the salon
    create_tenant_user(salon, email="sabine@salon.example", role="admin", password="x" * 12)
    create_tenant_user(salon, email="markus@salon.example", role="admin", password="x" * 12)
    create_tenant_user(salon, email="lena@salon.example", role="receptionist", password="x" * 12)

    # when billing (public schema) reports a low balance
    with schema_context("public"), django_capture_on_commit_callbacks(execute=True):
        hooks.emit("billing.low_balance", tenant_id=salon.pk, balance_cents=450, currency="EUR")

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


def test_an_invoice_is_announced_once_to_the_business_contact_even_if_the_event_repeats(salon, django_capture_on_commit_callbacks):
    with tenant_context(salon):
        NotificationSettings.objects.update_or_create(pk=1, defaults={"business_email": "buchhaltung@salon.example"})

    for _ in range(2):
        with schema_context("public"), django_capture_on_commit_callbacks(execute=True):
            hooks.emit("billing.invoice_issued", tenant_id=salon.pk, invoice_id=42, invoice_number="AP-2026-0042",
                       amount_cents=11900, currency="EUR")

    with tenant_context(salon):
        delivery = NotificationDelivery.objects.get()
        assert (delivery.recipient, delivery.subject) == ("buchhaltung@salon.example", "Neue Rechnung AP-2026-0042")
        assert "über 119,00 € erstellt" in delivery.body


def test_a_business_without_any_address_gets_a_skipped_record_with_the_reason(in_salon):
    delivery, = services.notify_business(in_salon, "payment_failed", {"amount": "10,00 €"}, ref="payment_intent_id:pi_1")

    assert (delivery.status, delivery.skip_reason, delivery.recipient) == ("skipped", "no_address", "")


def test_a_callback_request_reaches_the_business_with_the_callers_number(in_salon, django_capture_on_commit_callbacks):
    NotificationSettings.objects.update_or_create(pk=1, defaults={"business_email": "team@salon.example"})

    with django_capture_on_commit_callbacks(execute=True):
        hooks.emit("calls.callback_requested", callback_id=5, caller_name="Max Mustermann", phone="+4915199999999",
                   reason="Frage zum Färben")

    delivery = NotificationDelivery.objects.get()
    assert (delivery.event, delivery.status, delivery.subject) == ("callback_requested", "sent", "Rückruf erbeten: Max Mustermann")
    assert delivery.body == "Ein Anrufer bittet um Rückruf.\n\nName: Max Mustermann\nTelefon: +4915199999999\nAnliegen: Frage zum Färben"


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
