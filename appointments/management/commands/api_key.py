from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments.api_keys import create_api_key, revoke_api_key, rotate_api_key
from appointments.models import ApiKey
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Manage a tenant's booking API keys: create (the key is shown once), list, revoke, rotate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create", "list", "revoke", "rotate"])
        parser.add_argument("--tenant", required=True, help="Tenant slug, e.g. salon-schmidt")
        parser.add_argument("--name", default="", help="create: who uses the key")
        parser.add_argument("--expires-in-days", type=int, default=None, help="create: expiry (default: never)")
        parser.add_argument("--prefix", default="", help="revoke/rotate: the key's prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"], is_template=False).exclude(schema_name="public").first()
        if tenant is None:
            raise CommandError(f"Unknown tenant {options['tenant']!r} (see manage.py tenant_list).")
        with tenant_context(tenant):
            getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        if not options["name"]:
            raise CommandError("--name is required for create.")
        days = options["expires_in_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires = timezone.now() + timedelta(days=days) if days else None
        key, raw = create_api_key(name=options["name"], actor="cli", expires_at=expires)
        self.stdout.write(f"Created key {key.prefix} ({key.name}). Store it now, it is not shown again:")
        self.stdout.write(raw)

    def _key(self, options: dict[str, Any]) -> ApiKey:
        key = ApiKey.objects.filter(prefix=options["prefix"]).first() if options["prefix"] else None
        if key is None:
            raise CommandError("Give the --prefix of an existing key (see `api_key list`).")
        return key

    def _revoke(self, options: dict[str, Any]) -> None:
        key = revoke_api_key(key_id=self._key(options).pk)
        self.stdout.write(f"Revoked {key.prefix} at {key.revoked_at:%Y-%m-%d %H:%M:%S %Z}.")

    def _rotate(self, options: dict[str, Any]) -> None:
        key, raw = rotate_api_key(key_id=self._key(options).pk, actor="cli")
        self.stdout.write(f"Revoked {options['prefix']}; new key {key.prefix}, shown once:")
        self.stdout.write(raw)

    def _list(self, options: dict[str, Any]) -> None:
        now = timezone.now()
        keys = list(ApiKey.objects.order_by("created_at"))
        for key in keys:
            if key.revoked_at:
                state = "revoked"
            elif key.expires_at and key.expires_at <= now:
                state = "expired"
            else:
                state = "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            self.stdout.write(f"{key.prefix}  {state:8}  last used {used:16}  {key.name}")
        self.stdout.write(f"{len(keys)} key(s)")
