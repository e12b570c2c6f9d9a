from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askpro.errors import DomainError
from billing import invoicing
from billing.money import Period


class Command(BaseCommand):
    help = "Calculate resellers' commissions of a month (idempotent) and print them as CSV."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = Period.parse(options["period"])
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        invoicing.calculate_commissions(period)
        self.stdout.write(invoicing.commissions_csv(period), ending="")
