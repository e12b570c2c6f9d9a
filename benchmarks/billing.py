"""Billing benchmark: ``python -m benchmarks.billing [--calls 10000] [--tenants 200]``.

Measures, on a fresh database ``askpro_bench_billing`` (public schema only):
1. usage charges per second: ``record_call_usage`` for N calls spread over the tenants, one
   thread (each charge = lock account, price, one ledger row, usage record, platform cost);
   then the same calls re-delivered (idempotent no-ops) and 4 threads on distinct calls;
2. the monthly run for T tenants with PDFs (invoice + fees + VAT rounding + gapless number, then
   WeasyPrint PDF/A-3 + Factur-X XML), fanned out as in production: ``billing.runs.
   launch_billing_run`` queues batches of accounts as a Celery chord, a worker with ``--workers``
   processes (default 2) on the ``billing`` queue runs them; wall time from the launch until the
   run is done, PDFs per second. ``--in-process`` runs it in this process instead (per-PDF ms).
Tenants are plain rows without schemas (the plan has no booking fee, so the run reads no tenant
data). Figures are printed, not asserted. ``--database NAME`` and ``--redis-dbs B,C`` (default
``askpro_bench_billing`` and 13,14) let a second copy run beside another one without clashing.

Measured 2026-12-04 on the shared 2-core box (PostgreSQL on the same machine), ``--calls 1000``:
- ``--tenants 1000``, 2 worker processes: 1,000 invoices with PDF in 157 s, 6.4 PDFs/s, load
  average 3.5-4.6 (about 2 of it this run); the earlier 834 s was at load 10-14 (not comparable:
  the layout change below saves ~10 % of a PDF, the rest of the difference is load).
- per invoice, one process (load 5-7): issuing (ledger, VAT rounding, gapless number) ~56 ms;
  WeasyPrint layout ~90 ms (~104 ms before fixed-width floats/tables), PDF/A-3 write ~30 ms, Factur-X XML + XSD check ~3 ms, Factur-X
  attachment (pypdf re-write) ~13 ms, context + HTML ~3 ms; ~0.2 s of CPU per tenant in all.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

PROJECT_DIR = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("ASKPRO_BENCH_BILLING_DB", "askpro_bench_billing")


def fresh_database(db_name: str = DB_NAME, redis_dbs: tuple[int, int] = (13, 14)) -> None:
    from askpro.embedded import ensure_services

    ensure_services()
    import psycopg

    base = os.environ["DATABASE_URL"]
    admin_url = urlunparse(urlparse(base)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [db_name])
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    os.environ["DATABASE_URL"] = urlunparse(urlparse(base)._replace(path=f"/{db_name}"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "askpro.settings"
    os.environ["ASKPRO_MEDIA_ROOT"] = tempfile.mkdtemp(prefix="askpro-bench-media-")
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["ASKPRO_BROKER_REDIS_DB"] = str(redis_dbs[0])  # its own broker and cache: no other worker takes its tasks
    os.environ["ASKPRO_CACHE_REDIS_DB"] = str(redis_dbs[1])
    import redis

    for db in redis_dbs:
        redis.Redis.from_url(os.environ["REDIS_URL"], db=db).flushdb()
    subprocess.run([sys.executable, "manage.py", "migrate_schemas", "--shared", "-v", "0"], cwd=PROJECT_DIR, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes for the monthly run")
    parser.add_argument("--in-process", action="store_true", help="run the month in this process (no Celery)")
    parser.add_argument("--database", default=DB_NAME, help="database to (re)create for the benchmark")
    parser.add_argument("--redis-dbs", default="13,14", help="Redis database numbers for its broker and cache")
    args = parser.parse_args()

    broker_db, cache_db = (int(n) for n in args.redis_dbs.split(","))
    fresh_database(args.database, (broker_db, cache_db))
    import django

    django.setup()
    from django.db import connections

    from billing import queries, runs, services
    from billing.models import BillingAccount, Invoice, PricingPlan, Transaction
    from billing.money import Period
    from tenants.models import Tenant

    plan = PricingPlan.objects.create(name="Bench", price_per_minute_cents=29, monthly_base_fee_cents=1900, is_default=True)
    tenants = Tenant.objects.bulk_create([
        Tenant(schema_name=f"bench_{i:04d}", name=f"Bench {i}", slug=f"bench-{i:04d}") for i in range(args.tenants)
    ])
    BillingAccount.objects.bulk_create([
        BillingAccount(tenant=t, plan=plan, company_name=f"Bench {i} GmbH", street="Hauptstraße 1", postal_code="10115", city="Berlin",
                       billing_starts_on=date(2026, 1, 1))
        for i, t in enumerate(tenants)
    ])
    for account in BillingAccount.objects.all():
        services.post_transaction(account, kind="topup", amount_cents=50_000, idempotency_key=f"fund:{account.pk}")

    start = datetime(2026, 10, 1, 8, tzinfo=UTC)

    def charge(i: int) -> None:
        services.record_call_usage(
            tenant=tenants[i % len(tenants)], call_id=f"bench-call-{i}", duration_seconds=30 + i % 600,
            provider_cost_cents=5 + i % 40, ended_at=start + timedelta(minutes=i),
        )

    print(f"usage charges: {args.calls} calls over {len(tenants)} tenants (October 2026)")
    t0 = time.perf_counter()
    for i in range(args.calls):
        charge(i)
    elapsed = time.perf_counter() - t0
    print(f"  1 thread:              {args.calls / elapsed:8.0f} charges/s  ({elapsed:.1f} s)")

    t0 = time.perf_counter()
    for i in range(args.calls):
        charge(i)
    elapsed = time.perf_counter() - t0
    print(f"  duplicate deliveries:  {args.calls / elapsed:8.0f} no-ops/s   ({elapsed:.1f} s, nothing booked twice)")

    extra = args.calls // 2

    def charge_slice(offset: int) -> None:
        try:
            for i in range(offset, extra, 4):
                charge(args.calls + i)
        finally:
            connections.close_all()  # one connection per thread

    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(charge_slice, range(4)))
    elapsed = time.perf_counter() - t0
    print(f"  4 threads:             {extra / elapsed:8.0f} charges/s  ({extra} calls, {elapsed:.1f} s)")
    usage_rows = Transaction.objects.filter(kind="usage").count()
    assert usage_rows == args.calls + extra, usage_rows
    assert queries.ledger_mismatches() == []

    period = Period.parse("2026-10")
    if args.in_process:
        _run_in_process(period)
    else:
        _run_on_workers(period, args.workers)
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"AP-2026-{n:06d}" for n in range(1, len(numbers) + 1)], "numbering has gaps"
    assert queries.ledger_mismatches() == []
    t0 = time.perf_counter()
    before = Invoice.objects.count()
    runs.run_billing_in_process(period)
    assert Invoice.objects.count() == before
    print(f"  re-run of the same period (idempotent, nothing created): {time.perf_counter() - t0:.1f} s")


def _run_in_process(period: Any) -> None:
    """The run's accounts one after the other in this process (what one worker process does)."""
    from billing import invoicing
    from billing.models import BillingAccount, Invoice

    invoicing.start_billing_run(period)
    account_ids = list(BillingAccount.objects.order_by("pk").values_list("pk", flat=True))
    t0 = time.perf_counter()
    issue_seconds = 0.0
    for account_id in account_ids:
        s = time.perf_counter()
        invoicing.create_usage_invoice(account_id, period, issue_date=date(2026, 11, 2))
        issue_seconds += time.perf_counter() - s
        invoicing.invoice_account(account_id, period, issue_date=date(2026, 11, 2))
    invoicing.finish_billing_run(period)
    elapsed = time.perf_counter() - t0
    count = Invoice.objects.exclude(pdf="").count()
    print(f"monthly run: {len(account_ids)} tenants, {count} invoices with PDF in {elapsed:.1f} s "
          f"({elapsed / max(count, 1) * 1000:.0f} ms per invoice; issuing without PDF {issue_seconds:.1f} s, "
          f"PDF/A-3 + Factur-X {elapsed - issue_seconds:.1f} s = {(elapsed - issue_seconds) / max(count, 1) * 1000:.0f} ms "
          f"per PDF) in one process, {count / elapsed:.1f} PDFs/s")


def _run_on_workers(period: Any, workers: int) -> None:
    """The run as production runs it: batches on a Celery worker with ``workers`` processes."""
    from askpro.celery import app
    from billing import runs
    from billing.models import BillingRun, Invoice

    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "askpro", "worker", "-Q", "billing", "-c", str(workers),
         "-l", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=PROJECT_DIR, env=dict(os.environ),
    )
    try:
        while not app.control.ping(timeout=1.0):  # wait for the worker, however busy the machine
            if worker.poll() is not None:
                raise RuntimeError("the Celery worker exited during start-up")
        t0 = time.perf_counter()
        run = runs.launch_billing_run(period)
        while not BillingRun.objects.filter(pk=run.pk, status=BillingRun.Status.DONE).exists():
            time.sleep(0.2)
        elapsed = time.perf_counter() - t0
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    progress = runs.run_progress(period)
    assert progress is not None
    count = Invoice.objects.exclude(pdf="").count()
    print(f"monthly run: {progress.accounts_total} tenants, {count} invoices with PDF in {elapsed:.1f} s on "
          f"{workers} worker processes ({progress.batches_total} batches of up to {runs.RUN_BATCH_SIZE}): "
          f"{count / elapsed:.1f} PDFs/s; issued {progress.issued}, held {progress.held}, failed {progress.failed}")


if __name__ == "__main__":
    main()
