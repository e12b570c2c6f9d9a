"""Tenant schemas from the template's script and from the pool of spare copies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

from tenants import schema_pool, services
from tenants.models import SpareSchema, Tenant

pytestmark = pytest.mark.slow


@pytest.fixture
def pool(committed_db: None, public_tenant) -> Iterator[None]:
    schema_pool.drain()
    yield
    schema_pool.drain()


def _structure(schema: str) -> dict[str, object]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, count(*) FROM information_schema.columns WHERE table_schema = %s "
            "GROUP BY table_name ORDER BY table_name", [schema])
        columns = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = %s", [schema])
        indexes = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND NOT t.tgisinternal",
            [schema])
        triggers = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace "
            "WHERE n.nspname = %s", [schema])
        constraints = cursor.fetchone()[0]
        cursor.execute(f'SELECT count(*) FROM "{schema}".auth_group_permissions')  # noqa: S608
        role_permissions = cursor.fetchone()[0]
        cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations')  # noqa: S608
        migrations = cursor.fetchone()[0]
    return {"columns": columns, "indexes": indexes, "triggers": triggers, "constraints": constraints,
            "role_permissions": role_permissions, "migrations": migrations}


def test_a_tenant_created_from_the_script_has_the_template_structure_and_roles(pool):
    created = services.create_tenant(name="Salon Neu", slug="salon-neu", admin_email="chef@neu.example")

    assert _structure("salon_neu") == _structure(settings.TENANT_BASE_SCHEMA)
    assert _structure("salon_neu")["role_permissions"] > 0
    with tenant_context(created.tenant):
        from django.contrib.auth import get_user_model

        from appointments.models import Customer

        assert get_user_model().objects.get(username="chef@neu.example").groups.get().name == "admin"
        Customer.objects.create(name="Erste Kundin", phone="+4915100000001", language="de")
        assert Customer.objects.count() == 1


def test_creating_a_tenant_takes_a_ready_spare_and_renames_it(pool):
    state = schema_pool.refill(2)
    spare_names = set(SpareSchema.objects.values_list("schema_name", flat=True))

    services.create_tenant(name="Salon Pool", slug="salon-pool")

    assert state.ready == 2
    with schema_context(get_public_schema_name()):
        left = set(SpareSchema.objects.values_list("schema_name", flat=True))
    assert len(left) == 1 and left < spare_names
    taken = (spare_names - left).pop()
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname IN (%s, 'salon_pool')", [taken])
        assert [row[0] for row in cursor.fetchall()] == ["salon_pool"]
    assert _structure("salon_pool") == _structure(settings.TENANT_BASE_SCHEMA)
    assert Tenant.objects.get(slug="salon-pool").domains.get().domain == "salon-pool.localhost"


def test_a_spare_copied_before_a_template_change_is_never_handed_out(pool):
    schema_pool.refill(1)
    stale = SpareSchema.objects.get().schema_name
    base = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO \"{base}\".django_migrations (app, name, applied) "  # noqa: S608
            "VALUES ('tenants_test', '9999_new_column', now())")
    try:
        services.create_tenant(name="Salon Frisch", slug="salon-frisch")
        state = schema_pool.refill(1)

        with connection.cursor() as cursor:
            cursor.execute('SELECT count(*) FROM "salon_frisch".django_migrations WHERE app = %s',
                           ["tenants_test"])
            assert cursor.fetchone()[0] == 1  # a fresh copy of the changed template
            cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [stale])
            assert cursor.fetchone()[0] == 0  # the stale spare was dropped
        assert (state.ready, state.stale) == (1, 0)
        assert SpareSchema.objects.get().schema_name != stale
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM \"{base}\".django_migrations WHERE app = 'tenants_test'")  # noqa: S608


def test_a_refused_tenant_leaves_no_schema_and_keeps_the_spare(pool):
    schema_pool.refill(1)

    with pytest.raises(services.TenantAlreadyExists):
        services.create_tenant(name="Doppelt", slug="salon-schmidt")

    assert SpareSchema.objects.count() == 1
