"""Operators start a billing run from the platform admin (the same service as ``billing_run``);
the billing workers run it and the run's page shows tenants handled, invoices issued, held, failed."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from billing import queries, services
from billing.models import BillingRun, Invoice, PricingPlan
from billing.money import Period
from tenants import services as tenant_services
from tenants.models import Tenant
from tests.admin.operators import verified_login
from tests.conftest import wait_for
from tests.fixtures.billing import make_account

ADD = "/admin/billing/billingrun/add/"


def _operator(email: str = "op@billing.example") -> Client:
    tenant_services.create_operator(email=email, password="s3cret-pass!")
    client = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="de")
    verified_login(client, email)
    return client


@pytest.fixture
def operator(public_tenant) -> Client:
    return _operator()


def _october_call(tenant, call_id="c1") -> None:
    services.record_call_usage(tenant=tenant, call_id=call_id, duration_seconds=120, provider_cost_cents=5,
                               ended_at=datetime(2026, 10, 5, 10, tzinfo=UTC))


def test_the_start_form_opens_with_last_month(operator):
    response = operator.get(ADD)

    assert response.status_code == 200
    assert "Abrechnungslauf starten" in response.content.decode()
    expected = str(Period.of(timezone.now(), timezone.get_current_timezone()).previous)
    assert response.context["form"]["period"].value() == expected


def test_the_running_month_is_refused_with_the_period_rule_and_nothing_starts(operator):
    running = str(Period.of(timezone.now(), timezone.get_current_timezone()))

    response = operator.post(ADD, {"period": running})

    assert response.status_code == 200
    assert response.context["form"].errors["period"] == ["Ein Monat kann erst nach seinem Ende abgerechnet werden."]
    assert BillingRun.objects.count() == 0


def test_a_malformed_period_is_refused_in_german(operator):
    response = operator.post(ADD, {"period": "Oktober"})

    assert response.context["form"].errors["period"] == ["Geben Sie einen Zeitraum im Format JJJJ-MM an."]
    assert BillingRun.objects.count() == 0


def test_a_failing_account_is_recorded_on_the_run_and_shown_while_the_others_are_invoiced(
    operator, salon, physio, standard_plan, tmp_path,
):
    # given two accounts; the invoice PDFs cannot be stored (a full or read-only disk)
    make_account(salon, standard_plan)
    _october_call(salon)
    unwritable = tmp_path / "media"
    unwritable.write_text("not a directory")

    # when the month is run (the command's --sync path: the same service the workers call)
    with override_settings(MEDIA_ROOT=str(unwritable)):
        output = StringIO()
        call_command("billing_run", "--period", "2026-10", "--sync", stdout=output)

    # then the failure is kept on the run with the tenant's name, and the run finishes
    run = BillingRun.objects.get()
    assert (run.status, run.accounts_total, run.accounts_done, run.invoices_failed) == ("done", 1, 1, 1)
    assert queries.run_progress(run)["failures"][0]["tenant"] == "Salon Schmidt"
    assert "failed" in output.getvalue()
    page = operator.get(f"/admin/billing/billingrun/{run.pk}/change/").content.decode()
    assert '<td data-count="failed" class="text-red-600">1</td>' in page
    assert "Salon Schmidt: " in page
    assert "Starten Sie den Lauf für diesen Monat erneut" in page


@pytest.mark.slow
def test_a_run_started_in_the_admin_is_done_by_the_workers_and_its_page_counts_it(live_worker, public_tenant):
    # given one complete account with usage and one above 250 € without an address (held)
    salon, physio = Tenant.objects.get(slug="salon-schmidt"), Tenant.objects.get(slug="physio-nord")
    make_account(salon, PricingPlan.objects.create(name="Worker", price_per_minute_cents=30, monthly_base_fee_cents=900))
    make_account(physio, PricingPlan.objects.create(name="Groß", price_per_minute_cents=30, monthly_base_fee_cents=30000),
                 street="", postal_code="", city="")
    _october_call(salon)
    client = _operator("op@billing-worker.example")

    # when
    response = client.post(ADD, {"period": "2026-10"})

    # then
    run = BillingRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/billing/billingrun/{run.pk}/change/"
    done = wait_for(lambda: BillingRun.objects.filter(pk=run.pk, status="done").first(), timeout=120)
    assert (done.accounts_total, done.accounts_done, done.invoices_failed, done.invoices_created, done.invoices_held) == (
        2, 2, 0, 1, 1)
    assert done.started_by == "op@billing-worker.example"
    assert Invoice.objects.get().account.tenant_id == salon.pk
    page = client.get(response["Location"]).content.decode()
    assert 'data-running="0"' in page
    assert '<td data-count="done"><strong>2 / 2</strong></td>' in page
    assert '<td data-count="issued">1</td>' in page and '<td data-count="held">1</td>' in page
    assert '<td data-count="failed">0</td>' in page
