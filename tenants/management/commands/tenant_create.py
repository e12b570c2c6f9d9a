from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from askpro.errors import DomainError
from tenants import services


class Command(BaseCommand):
    help = "Create a business tenant (schema cloned from the template), its host name and an admin login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help='Business name, e.g. "Salon Schmidt"')
        parser.add_argument("--slug", required=True, help="Short name, e.g. salon-schmidt")
        parser.add_argument("--domain", help="Host name (default: <slug>.<ASKPRO_BASE_DOMAIN>)")
        parser.add_argument("--admin-email", help="Creates a tenant admin login with this email")
        parser.add_argument("--admin-password", help="Password for the admin (default: generated)")
        parser.add_argument("--locale", default="de", choices=["de", "en"])
        parser.add_argument("--time-zone", default="Europe/Berlin")

    def handle(self, *args: Any, **options: Any) -> None:
        services.ensure_template_tenant()
        try:
            created = services.create_tenant(
                name=options["name"], slug=options["slug"], domain=options["domain"],
                admin_email=options["admin_email"], admin_password=options["admin_password"],
                locale=options["locale"], time_zone=options["time_zone"],
            )
        except DomainError as exc:
            detail = f" {exc.details}" if exc.details else ""
            raise CommandError(f"{exc.code}: {exc.message}{detail}") from exc
        tenant = created.tenant
        self.stdout.write(self.style.SUCCESS(f"Created tenant {tenant.name} (schema {tenant.schema_name})"))
        self.stdout.write(f"  Admin:    http://{tenant.primary_domain}:8000/admin/")
        if created.admin_username:
            self.stdout.write(f"  Login:    {created.admin_username}")
            if created.admin_password:
                self.stdout.write(f"  Password: {created.admin_password}  (shown once)")
