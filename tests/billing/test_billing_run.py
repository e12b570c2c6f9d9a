"""The monthly run in batches (billing.runs): idempotent per account, failures isolated, progress
counted once, fanned out over a live Celery worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from billing import runs
from billing.models import BillingAccount, BillingRun, BillingRunItem, Invoice, PricingPlan
from billing.money import Period
from tenants.models import Tenant
from tests.conftest import wait_for
from tests.fixtures.billing import make_account

OCTOBER = Period.parse("2026-10")


def _accounts(count: int) -> list[Any]:
    """Schema-less tenants with a base fee (the run reads no tenant data without a booking fee)."""
    plan = PricingPlan.objects.create(name="Batch", price_per_minute_cents=30, monthly_base_fee_cents=500)
    tenants = Tenant.objects.bulk_create([
        Tenant(schema_name=f"batch_{index:03d}", name=f"Batch {index}", slug=f"batch-{index:03d}") for index in range(count)
    ])
    return [make_account(tenant, plan) for tenant in tenants]


@pytest.fixture
def seven_accounts(db: None) -> list[Any]:
    return _accounts(7)


@pytest.fixture
def twelve_committed_accounts(committed_db: None) -> Iterator[list[Any]]:
    yield _accounts(12)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'billing%%'")
        tables = ", ".join(f'"public"."{row[0]}"' for row in cursor.fetchall())
        cursor.execute("SET session_replication_role = replica")  # the ledger refuses TRUNCATE otherwise
        try:
            cursor.execute(f"TRUNCATE {tables} CASCADE")
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
    Tenant.objects.filter(slug__startswith="batch-").delete()


def test_a_batch_delivered_twice_invoices_each_account_once_and_counts_it_once(seven_accounts):
    # given an opened run
    run, todo = runs.open_run(OCTOBER)
    assert (run.accounts_total, run.accounts_done, len(todo)) == (7, 0, 7)
    first, second = runs.batches(todo, 4)

    # when the first batch runs twice (a killed worker's message is delivered again)
    assert runs.invoice_batch(OCTOBER, first) == {"issued": 4}
    assert runs.invoice_batch(OCTOBER, first) == {"issued": 4}

    # then four invoices, four accounts done, the other three untouched
    run.refresh_from_db()
    assert (run.accounts_done, run.invoices_created, run.invoices_failed, run.status) == (4, 4, 0, "running")
    assert sorted(Invoice.objects.values_list("account_id", flat=True)) == first

    # when the run is launched again in process, it resumes with the rest only
    resumed, left = runs.open_run(OCTOBER)
    assert (left, resumed.accounts_done) == (second, 4)
    runs.invoice_batch(OCTOBER, second)
    done = runs.finish_billing_run(OCTOBER)

    # then every account has exactly one invoice, numbered without gaps
    assert (done.status, done.accounts_total, done.accounts_done, done.invoices_created) == ("done", 7, 7, 7)
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"AP-2026-{n:06d}" for n in range(1, 8)]
    assert all(invoice.pdf.name for invoice in Invoice.objects.all())
    progress = runs.run_progress(OCTOBER)
    assert progress is not None and progress.finished
    assert (progress.accounts_done, progress.issued, progress.held, progress.failed) == (7, 7, 0, 0)


def test_an_account_that_fails_is_recorded_and_the_batch_goes_on(seven_accounts):
    # given one buyer name that cannot go into the Factur-X XML (a control character)
    broken = seven_accounts[2]
    BillingAccount.objects.filter(pk=broken.pk).update(company_name="Kaputt\x01 GmbH")

    # when the run goes through in one process
    run = runs.run_billing_in_process(OCTOBER)

    # then the six others are issued with PDFs, the broken one is failed with its error
    assert (run.accounts_done, run.invoices_failed) == (7, 1)
    item = BillingRunItem.objects.get(account_id=broken.pk)
    assert item.outcome == "failed" and item.error
    assert Invoice.objects.exclude(pdf="").count() == 6

    # when the name is fixed and the run is started again, the missing PDF is rendered
    BillingAccount.objects.filter(pk=broken.pk).update(company_name="Heil GmbH")
    Invoice.objects.filter(account_id=broken.pk).update(buyer={**Invoice.objects.get(account_id=broken.pk).buyer, "name": "Heil GmbH"})
    run = runs.run_billing_in_process(OCTOBER)

    # then nothing is invoiced twice and every invoice has its PDF
    assert (run.accounts_done, run.invoices_failed, run.invoices_created) == (7, 0, 7)
    assert Invoice.objects.count() == 7
    assert Invoice.objects.filter(pdf="").count() == 0


@pytest.mark.slow
def test_the_run_fans_out_in_batches_over_a_live_worker(twelve_committed_accounts, live_worker):
    # when the run is launched in batches of five
    run = runs.launch_billing_run(OCTOBER, batch_size=5)
    assert (run.accounts_total, run.batches_total, run.status) == (12, 3, "running")

    # then the worker finishes it: twelve invoices with PDFs, numbered without gaps, progress complete
    done = wait_for(lambda: BillingRun.objects.filter(status="done", accounts_done=12).first(), timeout=180)
    assert (done.invoices_created, done.invoices_held, done.invoices_failed) == (12, 0, 0)
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"AP-2026-{n:06d}" for n in range(1, 13)]
    assert Invoice.objects.filter(pdf="").count() == 0

    # and launching again queues nothing and invoices nothing twice
    again = runs.launch_billing_run(OCTOBER, batch_size=5)
    assert (again.accounts_done, again.batches_total) == (12, 0)
    assert Invoice.objects.count() == 12
