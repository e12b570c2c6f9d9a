"""Shared argument handling of the privacy commands: the tenant by slug."""

from __future__ import annotations

from django.core.management.base import CommandError

from tenants.models import Tenant


def tenant_by_slug(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None or tenant.schema_name in ("public",):
        raise CommandError(f"Unbekannter Mandant: {slug}")
    return tenant
