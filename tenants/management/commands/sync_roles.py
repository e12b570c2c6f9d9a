from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tenants import services
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Re-apply the default role groups and their permissions in every schema (after migrations)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        for tenant in Tenant.objects.order_by("schema_name"):
            services.sync_roles(tenant)
            count += 1
        self.stdout.write(self.style.SUCCESS(f"Roles synchronised in {count} schema(s)."))
