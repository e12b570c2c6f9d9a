from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askpro.errors import DomainError
from billing import invoicing, runs, tasks
from billing.models import Invoice
from billing.money import Period


class Command(BaseCommand):
    help = "Invoice a month for every billing account (Celery batch; resumable and idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM, a month that has ended")
        parser.add_argument("--sync", action="store_true", help="Run in this process instead of queueing Celery tasks.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = Period.parse(options["period"])
            if not options["sync"]:
                queued = tasks.queue_billing_run(period)
                self.stdout.write(f"{period}: {queued} account(s) queued on the billing queue.")
                return

            def report(index: int, total: int, account_id: int, outcome: str) -> None:
                if outcome == runs.Outcome.HELD:
                    hold = invoicing.open_hold(account_id, period)
                    text = f"held: {', '.join(hold.missing_labels)} missing" if hold else "held"
                elif outcome == runs.Outcome.ISSUED:
                    invoice = Invoice.objects.filter(account_id=account_id, period=period.first).order_by("-pk").first()
                    text = invoice.number if invoice and invoice.number else "issued"
                elif outcome == runs.Outcome.FAILED:
                    text = "failed (see the billing run in the platform admin; the next run tries again)"
                else:
                    text = "nothing to invoice"
                self.stdout.write(f"[{index}/{total}] account {account_id}: {text}")

            run = runs.run_billing_in_process(period, on_account=report)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(self.style.SUCCESS(f"{period}: {run.invoices_created} invoice(s) for {run.accounts_total} account(s)."))
        if run.invoices_held:
            self.stdout.write(self.style.WARNING(
                f"{period}: {run.invoices_held} invoice(s) held (platform admin: Billing > Invoice holds)."))
