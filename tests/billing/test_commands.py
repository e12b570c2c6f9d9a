from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing import services
from billing.models import BillingAccount, BillingRun, Invoice, PricingPlan, Topup, Transaction
from tenants.models import Tenant
from tests.conftest import wait_for
from tests.fixtures.billing import fund, make_account


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def october_call(tenant, call_id="c1", seconds=120):
    services.record_call_usage(
        tenant=tenant, call_id=call_id, duration_seconds=seconds, provider_cost_cents=5,
        ended_at=datetime(2026, 10, 5, 10, tzinfo=UTC),
    )


def test_balance_adjust_books_a_correction(salon, salon_account):
    output = run("balance_adjust", "--tenant", "salon-schmidt", "--amount-cents", "-250", "--reason", "Fehlbuchung", "--actor", "op")

    salon_account.refresh_from_db()
    assert salon_account.balance_cents == -250
    assert "balance -250 cents" in output
    assert Transaction.objects.get().description == "Fehlbuchung"


@pytest.mark.parametrize("args", [
    ["--tenant", "nope", "--amount-cents", "100", "--reason", "x"],
    ["--tenant", "salon-schmidt", "--amount-cents", "1,5", "--reason", "x"],
    ["--tenant", "salon-schmidt", "--amount-cents", "0", "--reason", "x"],
    ["--tenant", "salon-schmidt", "--amount-cents", "100", "--reason", " "],
    ["--tenant", "public", "--amount-cents", "100", "--reason", "x"],
])
def test_balance_adjust_refuses_bad_input_and_changes_nothing(salon, salon_account, args):
    with pytest.raises(CommandError):
        run("balance_adjust", *args)
    assert Transaction.objects.count() == 0


@pytest.mark.parametrize("period", ["2026-13", "26-10", "oktober", "2099-01"])
def test_billing_run_refuses_bad_or_future_periods(db, period):
    with pytest.raises(CommandError):
        run("billing_run", "--period", period, "--sync")
    assert BillingRun.objects.count() == 0


def test_billing_run_sync_invoices_every_account_once_and_can_run_again(salon, physio, standard_plan):
    salon_account = make_account(salon, standard_plan)
    make_account(physio, standard_plan)
    fund(salon_account, 1000)
    october_call(salon)

    first = run("billing_run", "--period", "2026-10", "--sync")
    second = run("billing_run", "--period", "2026-10", "--sync")

    invoice = Invoice.objects.get()
    assert (invoice.account_id, invoice.gross_cents, invoice.status) == (salon_account.pk, 71, "paid")
    assert invoice.pdf.name.endswith(".pdf")
    assert "nothing to invoice" in first and "1 invoice(s) for 2 account(s)" in first
    assert "1 invoice(s) for 2 account(s)" in second
    run_row = BillingRun.objects.get()
    assert (run_row.status, run_row.invoices_created) == ("done", 1)


def test_health_check_passes_and_fails_on_a_broken_invariant(salon_account, settings):
    settings.STRIPE_API_KEY = ""
    settings.STRIPE_API_BASE = ""
    fund(salon_account, 500)
    assert "billing OK" in run("billing_health_check")

    BillingAccount.objects.filter(pk=salon_account.pk).update(balance_cents=501)
    with pytest.raises(CommandError, match="1 billing problem"):
        run("billing_health_check")


def test_health_check_fails_when_stripe_is_unreachable(salon_account, settings):
    from billing import stripe_gateway

    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    stripe_gateway._client.cache_clear()
    with pytest.raises(CommandError):
        run("billing_health_check")
    stripe_gateway._client.cache_clear()


def test_health_check_reports_stuck_top_ups(salon_account, settings):
    settings.STRIPE_API_KEY = ""
    settings.STRIPE_API_BASE = ""
    topup = Topup.objects.create(account=salon_account, amount_cents=1000, stripe_payment_intent_id="pi_stuck")
    Topup.objects.filter(pk=topup.pk).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))

    with pytest.raises(CommandError):
        run("billing_health_check")


def _errors_of(*args: str) -> tuple[str, str]:
    err = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(*args, stdout=StringIO(), stderr=err)
    return str(failed.value), err.getvalue()


def test_health_check_reports_a_finished_call_that_was_handed_to_billing_but_never_charged(salon, salon_account, settings):
    # given two calls handed to billing an hour ago: one charged, one whose charge was lost
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from calls.models import Call

    settings.STRIPE_API_KEY = settings.STRIPE_API_BASE = ""
    an_hour_ago = timezone.now() - timedelta(hours=1)
    with tenant_context(salon):
        for call_id in ("call_charged", "call_lost"):
            Call.objects.create(call_id=call_id, status="ended", usage_emitted_at=an_hour_ago)
    october_call(salon, call_id="call_charged")

    # when / then
    message, problems = _errors_of("billing_health_check")
    assert message == "1 billing problem(s) found"
    assert problems.strip() == "1 finished call(s) of salon_schmidt emitted for billing but never charged: call_lost"


def test_health_check_reports_an_owed_effect_past_its_deadline(salon_account, settings):
    from django.utils import timezone

    from integrations.models import OutboxEffect

    settings.STRIPE_API_KEY = settings.STRIPE_API_BASE = ""
    created = timezone.now() - timedelta(hours=2)
    OutboxEffect.objects.create(
        handler="hooks.deliver", key="calls.call_ended:x:billing.listeners.charge_finished_call", schema_name="salon_schmidt",
        payload={"event": "calls.call_ended", "listener": "billing.listeners.charge_finished_call", "data": {}},
        created_at=created, deadline_at=created + timedelta(minutes=15), attempts=3, last_error="boom",
    )

    message, problems = _errors_of("billing_health_check")

    assert message == "1 billing problem(s) found"
    assert problems.strip() == (
        "1 owed effect(s) billing.listeners.charge_finished_call not delivered by their deadline "
        f"(oldest from {created:%Y-%m-%d %H:%M} UTC)"
    )


def test_datev_export_lists_invoices_and_top_ups_of_the_month(salon, standard_plan):
    account = make_account(salon, standard_plan)
    october_call(salon)
    from billing import invoicing
    from billing.money import Period

    invoicing.create_usage_invoice(account.pk, Period.parse("2026-10"), issue_date=datetime(2026, 11, 2).date())
    topup = Topup.objects.create(account=account, amount_cents=2500, stripe_payment_intent_id="pi_d")
    services.complete_topup(payment_intent_id="pi_d", amount_cents=2500)
    Topup.objects.filter(pk=topup.pk).update(completed_at=datetime(2026, 11, 3, 23, 30, tzinfo=UTC))  # 4 Nov in Berlin

    lines = run("billing_export_datev", "--period", "2026-11").splitlines()

    assert lines[0].startswith("Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen;WKZ Umsatz;Konto")
    assert lines[1] == f"0,71;S;EUR;{10000 + account.pk};8400;;0211;AP-2026-000001;Rechnung Salon Schmidt GmbH"
    assert lines[2] == f"25,00;S;EUR;1360;{10000 + account.pk};;0411;{topup.receipt_number};Guthabenaufladung Salon Schmidt GmbH"
    with pytest.raises(CommandError):
        run("billing_export_datev", "--period", "2026/11")


@pytest.mark.slow
def test_billing_run_queues_a_celery_batch_that_a_worker_completes(live_worker):
    # given
    salon = Tenant.objects.get(slug="salon-schmidt")
    plan = PricingPlan.objects.create(name="Worker", price_per_minute_cents=30, monthly_base_fee_cents=900)
    account = make_account(salon, plan)
    october_call(salon)

    # when
    output = run("billing_run", "--period", "2026-10")

    # then
    assert "1 account(s) queued" in output
    run_row = wait_for(lambda: BillingRun.objects.filter(status="done", invoices_created=1).first(), timeout=60)
    invoice = Invoice.objects.get(account=account)
    assert (invoice.number, invoice.gross_cents) == ("AP-2026-000001", 71 + 1071)
    assert invoice.pdf.name.startswith("invoices/2026/AP-2026-000001")
    assert run_row.accounts_total == 1
