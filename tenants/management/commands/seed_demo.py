from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants import demo


class Command(BaseCommand):
    help = "Load the demo data (idempotent): Salon Schmidt, Physio Nord, logins and each app's demo rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Allow in production")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ENVIRONMENT == "production" and not options["force"]:
            raise CommandError("Refusing to load demo data in production (pass --force if you mean it).")
        tenants = demo.seed(log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Platform admin: {settings.PUBLIC_URL}/admin/  ({demo.OPERATOR_EMAIL} / {demo.DEMO_PASSWORD})")
        secret, code, recovery = demo.operator_second_factor()
        self.stdout.write(
            f"    second factor: authenticator secret {secret} (code now: {code}); "
            f"recovery codes: {' '.join(recovery[:3])}"
        )
        for tenant, spec in zip(tenants, demo.DEMO_TENANTS, strict=True):
            self.stdout.write(
                f"  {tenant.name}: http://{tenant.primary_domain}:8000/admin/  ({spec.users[0][0]} / {demo.DEMO_PASSWORD})"
            )
