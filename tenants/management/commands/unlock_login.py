from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from askpro import admin_auth
from tenants.management.commands._login_target import add_tenant_argument, schema_for


class Command(BaseCommand):
    help = "Lift an admin login lockout (failed logins) of a username and/or an IP address."

    def add_arguments(self, parser: CommandParser) -> None:
        add_tenant_argument(parser)
        parser.add_argument("--username", default="", help="The login (e-mail address)")
        parser.add_argument("--ip", default="", help="The client IP address")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["username"] and not options["ip"]:
            raise CommandError("Give --username and/or --ip.")
        with schema_context(schema_for(options["tenant"])):
            removed = admin_auth.unlock_login(username=options["username"], ip_address=options["ip"])
        self.stdout.write(f"Unlocked: {removed} failed-login record(s) removed.")
