"""migrate_schemas over many schemas: current ones skipped, the ones behind migrated, failures reported."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import schema_migrations, schema_pool, services

pytestmark = pytest.mark.slow

# A leaf migration that only adds two nullable columns: easy to take back by hand.
LEAF = ("otp_totp", "0003_add_timestamps")


@pytest.fixture
def tenants(committed_db: None, public_tenant) -> Iterator[list[str]]:
    schema_pool.drain()
    created = [services.create_tenant(name=f"Mig {n}", slug=f"mig-{n}").tenant.schema_name for n in range(3)]
    yield created
    schema_pool.drain()


def _forget_leaf(schema: str, *, undo_columns: bool) -> None:
    """Make ``schema`` lack LEAF: without its columns (really behind) or with them (it will fail)."""
    with connection.cursor() as cursor:
        if undo_columns:
            cursor.execute(
                f'ALTER TABLE "{schema}".otp_totp_totpdevice DROP COLUMN created_at, DROP COLUMN last_used_at'
            )
        cursor.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s', list(LEAF))


def _columns(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'otp_totp_totpdevice'", [schema])
        return {row[0] for row in cursor.fetchall()}


def _recorded(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT 1 FROM "{schema}".django_migrations WHERE app = %s AND name = %s', list(LEAF))
        return cursor.fetchone() is not None


def test_one_query_finds_what_each_schema_lacks(tenants):
    current, behind, without_table = tenants
    _forget_leaf(behind, undo_columns=True)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{without_table}".django_migrations')

    with CaptureQueriesContext(connection) as queries:
        missing = schema_migrations.missing_migrations(tenants)

    assert missing[current] == set()
    assert missing[behind] == {LEAF}
    assert missing[without_table] == schema_migrations.graph_migrations()
    assert len(queries) == 2  # the catalogue, then one UNION ALL over every schema


def test_a_schema_behind_is_migrated_and_current_ones_are_skipped(tenants, capfd):
    current, first_behind, second_behind = tenants
    for schema in (first_behind, second_behind):
        _forget_leaf(schema, undo_columns=True)
    assert "created_at" not in _columns(first_behind)

    call_command("migrate_schemas", "--tenant", verbosity=1)

    out = capfd.readouterr().out
    for schema in (first_behind, second_behind):
        assert {"created_at", "last_used_at"} <= _columns(schema)
        assert _recorded(schema)
        assert f"[askpro:{schema}] === Starting migration" in out
    assert f"[askpro:{current}]" not in out  # skipped: its migrate never ran
    assert "migrated 2, skipped" in out
    assert schema_migrations.missing_migrations(tenants) == {schema: set() for schema in tenants}


def test_a_failing_schema_is_reported_and_the_others_still_migrated(tenants, capfd):
    current, behind, broken = tenants
    _forget_leaf(behind, undo_columns=True)
    _forget_leaf(broken, undo_columns=False)  # re-adding the columns fails: they exist

    with pytest.raises(CommandError, match=rf"failed in 1 schema\(s\): {broken}"):
        call_command("migrate_schemas", "--tenant", verbosity=1)

    captured = capfd.readouterr()
    assert f"[askpro:{broken}] FAILED:" in captured.err
    assert "already exists" in captured.err
    assert _recorded(behind) and {"created_at", "last_used_at"} <= _columns(behind)
    assert not _recorded(broken)
    assert "migrated 1, skipped" in captured.out and "failed 1" in captured.out


def test_the_standard_executor_is_still_available(tenants, capfd):
    current, behind, _ = tenants
    _forget_leaf(behind, undo_columns=True)

    call_command("migrate_schemas", "--tenant", "--executor", "standard", verbosity=1)

    out = capfd.readouterr().out
    assert _recorded(behind)
    assert f"standard:{current}] === Starting migration" in out  # django-tenants runs every schema
