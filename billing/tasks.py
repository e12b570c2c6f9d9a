"""Celery tasks (queue ``billing``): thin callers of the billing services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from billing import invoicing, runs, services
from billing.money import Period


@shared_task(name="billing.invoice_account", acks_late=True, max_retries=3, default_retry_delay=60)
def invoice_account(account_id: int, period: str) -> int | None:
    """One account (kept for messages queued before runs went by batch); idempotent."""
    invoice = invoicing.invoice_account(account_id, Period.parse(period))
    return invoice.pk if invoice else None


@shared_task(name="billing.invoice_batch", acks_late=True)
def invoice_batch(period: str, account_ids: list[int]) -> dict[str, int]:
    """One batch of a monthly run (``billing.runs``); a re-delivered batch changes nothing."""
    return runs.invoice_batch(Period.parse(period), account_ids)


@shared_task(name="billing.finish_run")
def finish_run(_results: list | None, period: str) -> str:
    run = runs.finish_billing_run(Period.parse(period))
    return f"{run.period:%Y-%m}: {run.invoices_created} invoices"


def queue_billing_run(period: Period, *, started_by: str = "") -> int:
    """Queue the run (``billing.runs.launch_billing_run``); returns how many accounts were queued.
    Refuses a month that has not ended (``PeriodNotFinished``) before anything is queued."""
    run = runs.launch_billing_run(period, started_by=started_by)
    return run.accounts_total - run.accounts_done


@shared_task(name="billing.monthly_run")
def monthly_run() -> int:
    """Beat: on the 1st, invoice the month that just ended."""
    return queue_billing_run(Period.of(timezone.now(), timezone.get_current_timezone()).previous)


@shared_task(name="billing.mark_overdue")
def mark_overdue() -> int:
    return invoicing.mark_overdue_invoices()


@shared_task(name="billing.auto_topup", acks_late=True)
def auto_topup(account_id: int) -> int | None:
    topup = services.run_auto_topup(account_id)
    return topup.pk if topup else None


@shared_task(name="billing.charge_call", acks_late=True, max_retries=5, default_retry_delay=30)
def charge_call(
    tenant_id: int, call_id: str, duration_seconds: int, provider_cost_cents: int, ended_at: str,
    provider_currency: str = "USD",
) -> int:
    """Charge one finished call (idempotent per call_id: a repeated task charges nothing twice)."""
    from datetime import datetime

    from tenants.models import Tenant

    usage = services.record_call_usage(
        tenant=Tenant.objects.get(pk=tenant_id),
        call_id=call_id,
        duration_seconds=duration_seconds,
        provider_cost_cents=provider_cost_cents,
        provider_currency=provider_currency,
        ended_at=datetime.fromisoformat(ended_at),
    )
    return usage.pk
