"""The monthly billing run: fanned out over Celery workers in batches of accounts, resumable,
idempotent, with its progress on the ``BillingRun`` row.

Public entry points (the platform admin's run page and the ``billing_run`` command call these):

- ``launch_billing_run(period)`` opens or resumes the period's run and queues one Celery chord:
  a group of ``billing.invoice_batch`` tasks (``RUN_BATCH_SIZE`` accounts each), then
  ``billing.finish_run``. Returns the ``BillingRun``.
- ``run_billing_in_process(period)`` does the same work in the calling process (``--sync``).
- ``run_progress(period)`` reads the progress as a ``RunProgress`` (None before the first launch).

Progress fields of ``BillingRun`` (kept current after every batch): ``status`` (running/done),
``accounts_total``, ``accounts_done``, ``invoices_created`` (issued), ``invoices_held``,
``invoices_failed``, ``batches_total``, ``started_at``, ``finished_at``. They are counted from
``BillingRunItem`` rows (one per run and account, outcome issued/held/nothing/failed), so a batch
that runs twice (a killed worker's message is re-delivered: ``CELERY_TASK_ACKS_LATE`` and
``CELERY_TASK_REJECT_ON_WORKER_LOST``) counts each account once. Each account is invoiced at most
once (``invoicing.invoice_account`` is idempotent per account and period), so re-running a period
or a batch never invoices twice; launching again resumes with the accounts still without invoice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.db.models import Count, Q
from django.utils import timezone

from billing import invoicing
from billing.models import BillingAccount, BillingRun, BillingRunItem, Invoice, InvoiceHold
from billing.money import Period

logger = logging.getLogger(__name__)

# About 25 x 0.15-0.25 s per account with its PDF: a few seconds per task, far below the task time
# limit, and small enough that a lost worker costs little work to redo.
RUN_BATCH_SIZE = 25

Outcome = BillingRunItem.Outcome


@dataclass(frozen=True)
class RunProgress:
    """The run of one period as the admin shows it."""

    period: date
    status: str
    accounts_total: int
    accounts_done: int
    issued: int
    held: int
    failed: int
    batches_total: int
    started_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status == BillingRun.Status.DONE


def batches(account_ids: list[int], size: int = RUN_BATCH_SIZE) -> list[list[int]]:
    return [account_ids[start:start + size] for start in range(0, len(account_ids), size)]


def open_run(period: Period, *, started_by: str = "") -> tuple[BillingRun, list[int]]:
    """Open or resume the period's run; returns it and the accounts still to invoice.

    Accounts already invoiced count as done (issued); those to do again (held, nothing to
    invoice, failed before) lose their earlier outcome so that the progress counts them once."""
    run, todo = invoicing.start_billing_run(period, started_by=started_by)
    BillingRunItem.objects.filter(run=run, account_id__in=todo).delete()
    done = BillingAccount.objects.exclude(pk__in=todo).values_list("pk", flat=True)
    BillingRunItem.objects.bulk_create(
        [BillingRunItem(run=run, account_id=account_id, outcome=Outcome.ISSUED) for account_id in done],
        ignore_conflicts=True,
    )
    BillingRun.objects.filter(pk=run.pk).update(finished_at=None)
    refresh_progress(run.pk)
    run.refresh_from_db()
    return run, todo


def launch_billing_run(period: Period, *, batch_size: int = RUN_BATCH_SIZE, started_by: str = "") -> BillingRun:
    """Open (or resume) the period's run and queue it on the ``billing`` queue as one chord of
    batches and the finish. Safe to call again: a resumed run queues only what is left."""
    from celery import chord

    from billing import tasks

    run, todo = open_run(period, started_by=started_by)
    parts = batches(todo, batch_size)
    BillingRun.objects.filter(pk=run.pk).update(batches_total=len(parts))
    if not parts:
        tasks.finish_run.delay(None, str(period))
    else:
        chord(tasks.invoice_batch.s(str(period), part) for part in parts)(tasks.finish_run.s(str(period)))
    run.refresh_from_db()
    return run


def invoice_batch(period: Period, account_ids: Iterable[int]) -> dict[str, int]:
    """One batch of the run: each account once, failures isolated per account; returns the
    outcomes counted. Safe to run again (a re-delivered batch changes nothing)."""
    run = BillingRun.objects.get(period=period.first)
    counted: dict[str, int] = {}
    for account_id in account_ids:
        outcome = invoice_run_account(run, account_id, period)
        counted[outcome] = counted.get(outcome, 0) + 1
    refresh_progress(run.pk)
    return counted


def invoice_run_account(run: BillingRun, account_id: int, period: Period) -> str:
    """Invoice one account of the run and record the outcome (an error is recorded as failed)."""
    error = ""
    try:
        invoice = invoicing.invoice_account(account_id, period)
    except SoftTimeLimitExceeded:
        raise  # the whole batch is out of time: its message is retried, the done accounts stay done
    except Exception as exc:
        logger.exception("billing run %s: account %s failed", period, account_id)
        outcome, error = Outcome.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    else:
        if invoice is not None:
            outcome = Outcome.ISSUED
        elif invoicing.open_hold(account_id, period) is not None:
            outcome = Outcome.HELD
        else:
            outcome = Outcome.NOTHING
    BillingRunItem.objects.update_or_create(
        run=run, account_id=account_id,
        defaults={"outcome": outcome, "error": error, "finished_at": timezone.now()},
    )
    return str(outcome)


def refresh_progress(run_id: int) -> None:
    """Count the run's progress from its items, invoices and holds (one UPDATE per call)."""
    run = BillingRun.objects.only("period").get(pk=run_id)
    counts = BillingRunItem.objects.filter(run_id=run_id).aggregate(
        done=Count("pk"), failed=Count("pk", filter=Q(outcome=Outcome.FAILED)),
    )
    BillingRun.objects.filter(pk=run_id).update(
        accounts_done=counts["done"], invoices_failed=counts["failed"],
        invoices_created=Invoice.objects.filter(period=run.period).exclude(status=Invoice.Status.VOID).count(),
        invoices_held=InvoiceHold.objects.filter(period=run.period, released_at=None).count(),
    )


def finish_billing_run(period: Period) -> BillingRun:
    """The run's end (after every batch): totals, status done, reseller commissions."""
    run = invoicing.finish_billing_run(period)
    refresh_progress(run.pk)
    run.refresh_from_db()
    return run


def run_billing_in_process(
    period: Period, *, on_account: Callable[[int, int, int, str], None] | None = None,
) -> BillingRun:
    """The whole run in this process (no workers): ``on_account(index, total, account_id, outcome)``
    is called after each account."""
    run, todo = open_run(period)
    parts = batches(todo)
    BillingRun.objects.filter(pk=run.pk).update(batches_total=len(parts))
    index = 0
    for part in parts:
        for account_id in part:
            index += 1
            outcome = invoice_run_account(run, account_id, period)
            if on_account is not None:
                on_account(index, len(todo), account_id, outcome)
        refresh_progress(run.pk)
    return finish_billing_run(period)


def run_progress(period: Period) -> RunProgress | None:
    run = BillingRun.objects.filter(period=period.first).first()
    if run is None:
        return None
    return RunProgress(
        period=run.period, status=run.status, accounts_total=run.accounts_total, accounts_done=run.accounts_done,
        issued=run.invoices_created, held=run.invoices_held, failed=run.invoices_failed,
        batches_total=run.batches_total, started_at=run.started_at, finished_at=run.finished_at,
    )
