"""Celery tasks (queue ``billing``): thin callers of the billing services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from billing import invoicing, services
from billing.money import Period


@shared_task(name="billing.invoice_account", acks_late=True, max_retries=3, default_retry_delay=60)
def invoice_account(account_id: int, period: str) -> str:
    """One account of a monthly run; safe to run again (idempotent). A failure is recorded on
    the run instead of raised, so the chord's finish always runs."""
    return invoicing.run_account(account_id, Period.parse(period))


@shared_task(name="billing.finish_run")
def finish_run(_results: list | None, period: str) -> str:
    run = invoicing.finish_billing_run(Period.parse(period))
    return f"{run.period:%Y-%m}: {run.invoices_created} invoices"


def queue_billing_run(period: Period, *, started_by: str = "") -> int:
    """Queue the run as a Celery chord: one task per account still to invoice, then the finish.
    Refuses a month that has not ended (``PeriodNotFinished``) before anything is queued."""
    from celery import chord

    _run, todo = invoicing.start_billing_run(period, started_by=started_by)
    if not todo:
        finish_run.delay(None, str(period))
        return 0
    chord(invoice_account.s(account_id, str(period)) for account_id in todo)(finish_run.s(str(period)))
    return len(todo)


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
