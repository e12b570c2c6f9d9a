"""Tenant isolation through PgBouncer in transaction pooling mode.

A pooler in transaction mode hands each transaction whichever server connection is free. A
``SET search_path`` issued on its own (django-tenants' default) stays on the server connection it
happened to run on, and the next client to get that connection reads another tenant's tables.
These checks run real ORM queries of two tenants through one PgBouncer whose pool has a single
server connection, so every client shares it: with the search_path set inside every
transaction (DATABASE_POOL_MODE=transaction) nothing leaks; set per connection, it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections, transaction
from django_tenants.utils import tenant_context

from tests.fixtures.http import free_port
from tests.fixtures.pgbouncer import running_pgbouncer

pytestmark = pytest.mark.slow


@pytest.fixture
def pgbouncer(committed_db: None) -> Iterator[dict[str, Any]]:
    """A PgBouncer (transaction pooling, one server connection) in front of the test database."""
    target = connections["default"].settings_dict
    aliases: list[str] = []
    with running_pgbouncer(target, port=free_port(), alias="isolation", pool_size=1, max_clients=20) as bouncer:
        try:
            yield {"port": bouncer.port, "target": target, "aliases": aliases}
        finally:
            for alias in aliases:
                connections[alias].close()
                del connections[alias]
                connections.settings.pop(alias, None)


def _pooled_alias(pgbouncer: dict[str, Any], name: str, mode: str) -> str:
    settings_dict = {
        **pgbouncer["target"], "HOST": "127.0.0.1", "PORT": str(pgbouncer["port"]), "NAME": "isolation",
        "POOL_MODE": mode, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "OPTIONS": {**pgbouncer["target"].get("OPTIONS", {}), "prepare_threshold": None},
    }
    alias = f"pooled_{name}_{mode}"
    connections.settings[alias] = settings_dict
    pgbouncer["aliases"].append(alias)
    return alias


@pytest.fixture
def two_tenants_customers(salon: Any, physio: Any) -> tuple[Any, Any]:
    from appointments.models import Customer

    with tenant_context(salon):
        Customer.objects.create(name="Erika Salon", phone="+4915112345678", language="de")
    with tenant_context(physio):
        Customer.objects.create(name="Max Physio", phone="+4917612345678", language="de")
    return salon, physio


def _cross_tenant_reads(pgbouncer: dict[str, Any], mode: str, salon: Any, physio: Any) -> list[str]:
    """Two clients of two tenants interleave reads and writes through one pooled server
    connection; returns every read that saw the other tenant's rows."""
    from appointments.models import Customer

    a = _pooled_alias(pgbouncer, "salon", mode)
    b = _pooled_alias(pgbouncer, "physio", mode)
    connections[a].set_tenant(salon)
    connections[b].set_tenant(physio)
    expected = {a: ["Erika Salon"], b: ["Max Physio"]}
    leaks: list[str] = []

    def names(alias: str) -> list[str]:
        return list(Customer.objects.using(alias).order_by("name").values_list("name", flat=True))

    def check(alias: str, seen: list[str], step: str) -> None:
        if seen != expected[alias]:
            leaks.append(f"{step}: {alias} saw {seen}")

    for round_ in range(5):
        # Plain statements (autocommit), alternating between the clients.
        check(a, names(a), f"round {round_} autocommit")
        check(b, names(b), f"round {round_} autocommit")
        # Both open a cursor (django-tenants sets the path here), then both query.
        with connections[a].cursor() as cursor_a, connections[b].cursor() as cursor_b:
            cursor_a.execute("SELECT name FROM appointments_customer ORDER BY name")
            check(a, [row[0] for row in cursor_a.fetchall()], f"round {round_} cursors")
            cursor_b.execute("SELECT name FROM appointments_customer ORDER BY name")
            check(b, [row[0] for row in cursor_b.fetchall()], f"round {round_} cursors")
        # A transaction of one client, with a write that must land in its own schema.
        with transaction.atomic(using=a):
            Customer.objects.using(a).filter(name="Erika Salon").update(email=f"round{round_}@salon.example")
            check(a, names(a), f"round {round_} in transaction")
        check(b, names(b), f"round {round_} after the other's transaction")
    # A schema switch inside one transaction is followed too.
    with transaction.atomic(using=a):
        check(a, names(a), "before switch")
        connections[a].set_tenant(physio)
        expected[a] = ["Max Physio"]
        check(a, names(a), "after switch in transaction")
    return leaks


def test_with_the_path_set_per_transaction_no_tenant_sees_another_through_pgbouncer(
    pgbouncer, two_tenants_customers,
):
    salon, physio = two_tenants_customers

    leaks = _cross_tenant_reads(pgbouncer, "transaction", salon, physio)

    assert leaks == []
    with tenant_context(salon):
        from appointments.models import Customer

        assert list(Customer.objects.values_list("name", "email")) == [("Erika Salon", "round4@salon.example")]


def test_with_the_path_set_per_connection_tenants_leak_through_pgbouncer(pgbouncer, two_tenants_customers):
    """The check above can fail: django-tenants' per-connection SET leaks behind the pooler."""
    salon, physio = two_tenants_customers

    leaks = _cross_tenant_reads(pgbouncer, "session", salon, physio)

    assert leaks != []
