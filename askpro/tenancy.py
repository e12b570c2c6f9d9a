"""Small tenancy helpers shared by every app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.apps import apps
from django.db import connection
from django_tenants.utils import get_public_schema_name, get_tenant_model, tenant_context

if TYPE_CHECKING:
    from tenants.models import Tenant


class _TenantConnection(Protocol):
    """What django-tenants' database backend adds to ``django.db.connection``.

    django-stubs types ``connection`` as a plain ``BaseDatabaseWrapper``; the accessors below are
    the one place that knows about the extra attributes.
    """

    schema_name: str
    # A Tenant after set_tenant(), a django-tenants FakeTenant after set_schema()/public.
    tenant: object

    def set_schema_to_public(self) -> None: ...


def _tenant_connection() -> _TenantConnection:
    return cast(_TenantConnection, connection)


def on_set_tenant(wrapper: Any, tenant: Any) -> None:
    """Called by django-tenants on every schema switch.

    guardian caches content types process-wide; ids differ between schemas, so the cache must
    not survive a switch (see ../shared/reference/django_tenants.md, section 4.2).
    """
    if not apps.ready:
        return
    from guardian.shortcuts import clear_ct_cache

    clear_ct_cache()


def current_schema() -> str:
    """The schema the default connection is switched to right now."""
    return str(_tenant_connection().schema_name)


def current_tenant() -> Tenant | None:
    """The tenant the default connection is switched to, or None when it was switched by schema
    name only (the public schema, ``schema_context``)."""
    from tenants.models import Tenant

    tenant = _tenant_connection().tenant
    return tenant if isinstance(tenant, Tenant) else None


def use_public_schema() -> None:
    """Switch the default connection to the public schema."""
    _tenant_connection().set_schema_to_public()


def in_public_schema() -> bool:
    return current_schema() == get_public_schema_name()


def business_tenants(*, include_suspended: bool = False) -> Iterator[Any]:
    """Every real business tenant (not the public row, not the template)."""
    tenants = get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).filter(
        is_template=False
    )
    if not include_suspended:
        tenants = tenants.filter(status="active")
    yield from tenants.order_by("schema_name")


def for_each_tenant(func: Callable[[Any], None], *, include_suspended: bool = False) -> int:
    """Run ``func(tenant)`` inside each business tenant's schema; returns how many ran.

    Periodic tasks use this to fan out: one beat entry, one queued task per tenant.
    """
    count = 0
    for tenant in business_tenants(include_suspended=include_suspended):
        with tenant_context(tenant):
            func(tenant)
        count += 1
    return count
