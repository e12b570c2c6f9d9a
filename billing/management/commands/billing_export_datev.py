from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from askpro.errors import DomainError
from billing import datev
from billing.money import Period


class Command(BaseCommand):
    help = "Write a DATEV-style booking CSV (invoices and top-ups) of one month."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM")
        parser.add_argument("--output", help="file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            content = datev.export_period(Period.parse(options["period"]))
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if options.get("output"):
            try:
                Path(options["output"]).write_text(content, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot write {options['output']}: {exc}") from exc
            self.stdout.write(self.style.SUCCESS(f"written {options['output']}"))
        else:
            self.stdout.write(content, ending="")
