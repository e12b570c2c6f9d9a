"""Shared argument for the login-security commands: which schema's logins (platform or a tenant)."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser
from django_tenants.utils import get_public_schema_name

from tenants.models import Tenant


def add_tenant_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--tenant", default="", help="Slug of the tenant whose login it is (default: the platform admin)"
    )


def schema_for(slug: str) -> str:
    if not slug:
        return get_public_schema_name()
    tenant = Tenant.objects.filter(slug=slug, is_template=False).first()
    if tenant is None:
        raise CommandError(f"Unknown tenant {slug!r}.")
    return str(tenant.schema_name)
