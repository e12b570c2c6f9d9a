"""Recompute every customer's journey, engagement score, loyalty and revenue (all tenants or one)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from appointments import crm
from askpro.tenancy import for_each_tenant


class Command(BaseCommand):
    help = "Recompute journeys, engagement scores, loyalty and revenue of all customers."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--schema", help="Only this tenant schema (default: every active tenant).")

    def handle(self, *args: Any, **options: Any) -> None:
        from tenants.models import Tenant

        def run(tenant: Any) -> None:
            moved, count = crm.refresh_all()
            self.stdout.write(f"{tenant.schema_name}: {count} customers, {moved} journeys changed")

        schema = options.get("schema")
        if schema:
            tenant = Tenant.objects.filter(schema_name=schema).exclude(schema_name="public").first()
            if tenant is None:
                raise CommandError(f"No tenant with schema {schema!r}.")
            with tenant_context(tenant):
                run(tenant)
            return
        for_each_tenant(run)
