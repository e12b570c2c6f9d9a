"""Erase (anonymise) one customer's personal data in a tenant (Art. 17 DSGVO).

    manage.py privacy_erase --tenant salon-schmidt --customer 12|"+49 151 ..." --reason "Löschantrag vom 01.12."
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django_tenants.utils import tenant_context

from askpro.errors import DomainError
from privacy import services
from privacy.commandline import tenant_by_slug


class Command(BaseCommand):
    help = "Personenbezogene Daten eines Kunden löschen (anonymisieren); Rechnungen bleiben."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--customer", required=True, help="Kundennummer oder Telefonnummer")
        parser.add_argument("--reason", required=True, help="Grund, wird protokolliert")
        parser.add_argument("--actor", default="operator:cli")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(options["tenant"])
        with tenant_context(tenant), translation.override("de"):
            try:
                customer = services.find_customer(options["customer"])
                counts = services.erase_customer(customer.pk, actor=options["actor"], reason=options["reason"])
            except DomainError as exc:
                raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"Kunde #{customer.pk} gelöscht: {json.dumps(counts, ensure_ascii=False)}")
