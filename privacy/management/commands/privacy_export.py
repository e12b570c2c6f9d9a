"""Art. 15/20 export of one customer as JSON and PDF.

    manage.py privacy_export --tenant salon-schmidt --customer 12|"+49 151 ..." --output DIR --reason "Anfrage per E-Mail"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django_tenants.utils import tenant_context

from askpro.errors import DomainError
from privacy import services
from privacy.commandline import tenant_by_slug
from privacy.pdf import render_export_pdf


class Command(BaseCommand):
    help = "Datenauskunft (Art. 15/20 DSGVO) eines Kunden als JSON und PDF schreiben."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--customer", required=True, help="Kundennummer oder Telefonnummer")
        parser.add_argument("--output", required=True, help="Verzeichnis")
        parser.add_argument("--reason", default="Auskunftsersuchen (Kommandozeile)")
        parser.add_argument("--actor", default="operator:cli")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        output = Path(options["output"])
        output.mkdir(parents=True, exist_ok=True)
        with tenant_context(tenant), translation.override("de"):
            try:
                customer = services.find_customer(options["customer"])
                data = services.export_customer(customer.pk, actor=options["actor"], reason=options["reason"])
            except DomainError as exc:
                raise CommandError(str(exc.message)) from exc
            pdf = render_export_pdf(data, business=tenant.name, tz=tenant.tzinfo)
        stem = f"auskunft-{tenant.slug}-kunde-{customer.pk}"
        (output / f"{stem}.json").write_text(services.export_json(data), encoding="utf-8")
        (output / f"{stem}.pdf").write_bytes(pdf)
        self.stdout.write(f"{output / stem}.json\n{output / stem}.pdf")
