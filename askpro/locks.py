"""Transaction-level advisory locks on names, scoped to the current tenant schema.

A name (``staff:12``, ``phone:+4915112345678``) becomes a stable signed 64-bit key from SHA-256 of
``<schema>:<name>``, so the same name in two tenants never contends, and every process (web,
worker, other machines) computes the same key. The locks are held until the surrounding
transaction ends; outside a transaction they would end with the statement, so callers must be
inside ``transaction.atomic``.

Several locks are always taken in ascending key order: two transactions that want overlapping
sets queue behind each other instead of deadlocking.
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
