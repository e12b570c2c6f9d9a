"""Least privilege: as the application role, the ledger guard cannot be bypassed.

Runs against the test database's server when its user is a superuser (the machine's PostgreSQL
or the embedded one); creates a throw-away login role and drops it afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from billing.models import Transaction
from tenants import services as tenant_services
from tests.fixtures.billing import fund, make_account


def _server_is_superuser() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return bool(cursor.fetchone()[0])


@pytest.fixture
def app_role(committed_db: None) -> Iterator[psycopg.Connection]:
    if not _server_is_superuser():
        pytest.skip("the test database's user is not a superuser: cannot create roles")
    settings_dict = connection.settings_dict
    role, password = f"askpro_app_test_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD %s NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS', [password])
    call_command("grant_app_role", role, stdout=open("/dev/null", "w"))  # noqa: SIM115
    app = psycopg.connect(
        host=settings_dict["HOST"] or None, port=settings_dict["PORT"] or None,
        dbname=settings_dict["NAME"], user=role, password=password, autocommit=True,
    )
    try:
        yield app
    finally:
        app.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def _refused(app: psycopg.Connection, statement: str) -> str:
    with pytest.raises(psycopg.Error) as error:
        app.execute(statement)
    return str(error.value)


def test_the_app_role_cannot_touch_the_ledger_even_with_replication_role(app_role, salon, standard_plan):
    # given a committed ledger row
    fund(make_account(salon, standard_plan), 1500, key="role-test")
    row = Transaction.objects.get(idempotency_key="role-test")

    # when the application role tries to disable triggers and rewrite history
    replica = _refused(app_role, "SET session_replication_role = replica")
    update = _refused(app_role, f"UPDATE billing_transaction SET amount_cents = 1 WHERE id = {row.pk}")
    delete = _refused(app_role, f"DELETE FROM billing_transaction WHERE id = {row.pk}")
    truncate = _refused(app_role, "TRUNCATE billing_transaction CASCADE")

    # then every attempt is refused and the row is unchanged
    assert "permission denied to set parameter" in replica
    assert "append-only (UPDATE refused)" in update
    assert "append-only (DELETE refused)" in delete
    assert "permission denied" in truncate
    row.refresh_from_db()
    assert (row.amount_cents, Transaction.objects.count()) == (1500, 1)
    # while ordinary reads work, and the role owns no table
    assert app_role.execute("SELECT count(*) FROM billing_transaction").fetchone() == (1,)
    owned = app_role.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user").fetchone()
    assert owned == (0,)


def test_even_the_owner_cannot_truncate_the_ledger(committed_db, salon, standard_plan):
    fund(make_account(salon, standard_plan), 700, key="truncate-test")

    with pytest.raises(Exception, match="append-only \\(TRUNCATE refused\\)"), connection.cursor() as cursor:
        cursor.execute("TRUNCATE billing_transaction CASCADE")

    assert Transaction.objects.filter(idempotency_key="truncate-test").count() == 1


def test_a_tenant_created_later_is_usable_by_the_app_role(app_role, public_tenant):
    # given the owner creates a tenant after the grants (default privileges)
    tenant_services.create_tenant(name="Barbier Berg", slug="barbier-berg", domain="barbier-berg.localhost")

    # then the application role can write and read its tables
    app_role.execute("SET search_path TO barbier_berg")
    app_role.execute("INSERT INTO auth_group (name) VALUES ('probe')")
    names = [row[0] for row in app_role.execute("SELECT name FROM auth_group ORDER BY name")]
    assert names == ["admin", "manager", "probe", "receptionist", "staff"]
    # and still cannot change its structure
    assert "permission denied for schema barbier_berg" in _refused(app_role, "CREATE TABLE evil (id int)")
