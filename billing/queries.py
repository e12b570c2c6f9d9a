"""Billing reads: the ledger invariant, usage and cost aggregates, overviews."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, Sum

from billing.models import BillingAccount, PlatformCost, Topup, UsageRecord
from tenants.models import Tenant


def ledger_mismatches() -> list[tuple[int, int, int]]:
    """(account id, balance, sum of its ledger) for every account where they differ."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, a.balance_cents, COALESCE(SUM(t.amount_cents), 0) AS ledger
            FROM billing_billingaccount a
            LEFT JOIN billing_transaction t ON t.account_id = a.id
            GROUP BY a.id, a.balance_cents
            HAVING a.balance_cents <> COALESCE(SUM(t.amount_cents), 0)
            ORDER BY a.id
            """
        )
        return [(int(row[0]), int(row[1]), int(row[2])) for row in cursor.fetchall()]


def usage_summary(account: BillingAccount, period_first: Any) -> dict[str, int]:
    """Calls, seconds, net, VAT and gross charged for calls in one month."""
    row = UsageRecord.objects.filter(account=account, period=period_first).aggregate(
        calls=Count("id"), seconds=Sum("duration_seconds"), billed_seconds=Sum("billed_seconds"),
        net=Sum("net_cents"), vat=Sum("vat_cents"), gross=Sum("amount_cents"),
    )
    return {key: int(value or 0) for key, value in row.items()}


def costs_by_service(account: BillingAccount, period_first: Any) -> dict[str, int]:
    rows = (
        PlatformCost.objects.filter(account=account, period=period_first)
        .values("service_type").annotate(total=Sum("cost_cents")).order_by("service_type")
    )
    return {row["service_type"]: int(row["total"]) for row in rows}


def account_for_tenant(tenant: Tenant) -> BillingAccount | None:
    return BillingAccount.objects.filter(tenant=tenant).select_related("plan").first()


def pending_topups(account: BillingAccount) -> int:
    return Topup.objects.filter(account=account, status=Topup.Status.PENDING).count()


def run_progress(run: Any) -> dict[str, Any]:
    """How far a billing run got, counted live: accounts handled of all, invoices issued and held
    for the period so far, accounts failed with their errors (from the run's per-account rows)."""
    from billing.models import BillingRunItem, Invoice, InvoiceHold

    issued = Invoice.objects.filter(period=run.period).exclude(status=Invoice.Status.VOID).count()
    held = InvoiceHold.objects.filter(period=run.period, released_at=None).count()
    failed = (BillingRunItem.objects.filter(run=run, outcome=BillingRunItem.Outcome.FAILED)
              .select_related("account__tenant").order_by("account_id"))
    failures = [{"account_id": item.account_id, "tenant": item.account.tenant.name if item.account.tenant_id else "",
                 "error": item.error} for item in failed]
    total = run.accounts_total
    return {
        "total": total, "done": run.accounts_done, "issued": issued, "held": held, "failed": len(failures),
        "failures": failures, "running": run.status == run.Status.RUNNING,
        "percent": int(100 * run.accounts_done / total) if total else 100,
    }
