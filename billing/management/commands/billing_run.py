from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askpro.errors import DomainError
from billing import invoicing, tasks
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
            _run, todo = invoicing.start_billing_run(period)
            for index, account_id in enumerate(todo, start=1):
                result = invoicing.run_account(account_id, period)
                invoice = Invoice.objects.filter(account_id=account_id, period=period.first).first()
                hold = invoicing.open_hold(account_id, period) if result == "held" else None
                if hold is not None:
                    outcome = f"held: {', '.join(hold.missing_labels)} missing"
                elif result == "failed":
                    outcome = "FAILED (see the billing run in the platform admin)"
                else:
                    outcome = invoice.number if invoice and invoice.number else "nothing to invoice"
                self.stdout.write(f"[{index}/{len(todo)}] account {account_id}: {outcome}")
            run = invoicing.finish_billing_run(period)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(self.style.SUCCESS(f"{period}: {run.invoices_created} invoice(s) for {run.accounts_total} account(s)."))
        if run.accounts_failed:
            self.stdout.write(self.style.ERROR(f"{period}: {run.accounts_failed} account(s) failed; run the period again."))
        if run.invoices_held:
            self.stdout.write(self.style.WARNING(
                f"{period}: {run.invoices_held} invoice(s) held (platform admin: Billing > Invoice holds)."))
