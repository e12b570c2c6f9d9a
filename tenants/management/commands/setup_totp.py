from __future__ import annotations

import io
from typing import Any

import segno
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from askpro import admin_auth
from tenants.management.commands._login_target import add_tenant_argument, schema_for


class Command(BaseCommand):
    help = (
        "Give a login a new authenticator app (TOTP) and recovery codes, printing the secret once; "
        "--disable turns the second factor off (lost phone of a tenant login)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The login (e-mail address)")
        add_tenant_argument(parser)
        parser.add_argument("--disable", action="store_true", help="Remove the login's devices instead")

    def handle(self, *args: Any, **options: Any) -> None:
        with schema_context(schema_for(options["tenant"])):
            user = get_user_model().objects.filter(username=options["username"].strip().lower()).first()
            if user is None:
                raise CommandError(f"Unknown login {options['username']!r}.")
            if options["disable"]:
                removed = admin_auth.disable_second_factor(user)
                self.stdout.write(f"Second factor off: {removed} device(s) removed.")
                return
            device, codes = admin_auth.provision_totp(user)
            secret, url = admin_auth.totp_secret(device), device.config_url
        qr = io.StringIO()
        segno.make(url).terminal(out=qr, compact=True)
        self.stdout.write(qr.getvalue())
        self.stdout.write(f"Secret (enter in the authenticator app): {secret}")
        self.stdout.write(f"URL: {url}")
        self.stdout.write("Recovery codes (each works once):")
        for code in codes:
            self.stdout.write(f"  {code}")
