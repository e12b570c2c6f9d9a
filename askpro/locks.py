"""Transaction-level advisory locks on names, scoped to the current tenant schema.

A name (``staff:12``, ``phone:+4915112345678``) becomes a stable signed 64-bit key from SHA-256 of
``<schema>:<name>``, so the same name in two tenants never contends, and every process (web,
worker, other machines) computes the same key. The locks are held until the surrounding
transaction ends; outside a transaction they would end with the statement, so callers must be
inside ``transaction.atomic``.

Several locks are always taken in ascending key order: two transactions that want overlapping
sets queue behind each other instead of deadlocking. :func:`take_names` waits only where that
order holds and merely *tries* (``pg_try_advisory_xact_lock``) the others, so a transaction that
already holds some names never waits for a smaller one.

A transaction-level lock taken inside a savepoint is released when the savepoint is rolled back
to (PostgreSQL, "Explicit Locking": a lock acquired after establishing a savepoint is released
immediately if the savepoint is rolled back to; advisory transaction locks behave the same);
``RELEASE SAVEPOINT`` hands it to the enclosing transaction, which keeps it until it ends. So
``transaction.atomic()`` around :func:`take_names` gives a lock back early when it was not needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import connection

from askpro.tenancy import current_schema


class LockOutsideTransaction(RuntimeError):
    """An advisory transaction lock outside ``transaction.atomic`` would be released at once."""


def advisory_key(name: str, *, schema: str | None = None) -> int:
    """The 64-bit advisory lock key of ``name`` in ``schema`` (default: the current schema)."""
    scoped = f"{current_schema() if schema is None else schema}:{name}"
    return int.from_bytes(hashlib.sha256(scoped.encode()).digest()[:8], "big", signed=True)


def lock_names(names: Iterable[str]) -> list[int]:
    """Take ``pg_advisory_xact_lock`` on every name, in ascending key order; returns the keys.

    Waits while another transaction holds one of them. Taking a lock this transaction already
    holds returns at once (the locks are re-entrant), so nested services may lock again.
    """
    if not connection.in_atomic_block:
        raise LockOutsideTransaction("advisory transaction locks need transaction.atomic")
    keys = sorted({advisory_key(name) for name in names})
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    return keys


def take_names(names: Iterable[str], *, wait: bool = True, held: Iterable[str] = ()) -> str | None:
    """Lock every name in ascending key order; returns None when all are locked, else the first
    name another transaction holds (the ones locked before it stay locked until the savepoint or
    the transaction ends: roll back a savepoint around the call to give them back).

    Waits for a name only when ``wait`` is true and its key is above every key of ``held`` (names
    this transaction already holds), so waiting never breaks the order; any other name is only
    tried (``pg_try_advisory_xact_lock``, which never waits).
    """
    if not connection.in_atomic_block:
        raise LockOutsideTransaction("advisory transaction locks need transaction.atomic")
    held_keys = {advisory_key(name) for name in held}
    floor = max(held_keys, default=None)
    by_key = {advisory_key(name): name for name in names}
    with connection.cursor() as cursor:
        for key in sorted(by_key.keys() - held_keys):
            if wait and (floor is None or key > floor):
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
                continue
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
            row = cursor.fetchone()
            if not (row and row[0]):
                return by_key[key]
    return None
