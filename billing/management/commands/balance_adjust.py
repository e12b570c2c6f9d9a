from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askpro.errors import DomainError
from billing import services
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Book a correction on a tenant's balance (positive credits, negative debits) with a reason."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--amount-cents", required=True, help="non-zero integer, e.g. 500 or -250")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--actor", default="cli", help="who books it (shown in the ledger)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"], is_template=False).exclude(schema_name="public").first()
        if tenant is None:
            raise CommandError(f"unknown tenant {options['tenant']!r}")
        try:
            amount = int(str(options["amount_cents"]).strip())
        except ValueError:
            raise CommandError("--amount-cents must be an integer number of cents") from None
        try:
            txn = services.adjust_balance(tenant, amount_cents=amount, reason=options["reason"], actor=options["actor"])
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(self.style.SUCCESS(
            f"{tenant.slug}: {amount:+d} cents booked (transaction {txn.pk}), balance {txn.balance_after_cents} cents"
        ))
