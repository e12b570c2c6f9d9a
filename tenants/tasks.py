from __future__ import annotations

from django.core.cache import cache

from askpro.celery import app
from askpro.tenancy import current_schema

PROBE_TTL_SECONDS = 600


@app.task(name="tenants.record_task_probe")
def record_task_probe(probe_id: str) -> str:
    """Diagnostic: record which schema the worker ran this task in (proves tenant propagation)."""
    schema = current_schema()
    # The cache key is tenant-prefixed by make_key, so the tenant that queued it reads it back.
    cache.set(f"task-probe:{probe_id}", schema, PROBE_TTL_SECONDS)
    return schema


@app.task(name="tenants.refill_schema_pool")
def refill_schema_pool() -> int:
    """Keep ASKPRO_SCHEMA_POOL_SIZE spare tenant schemas ready (idempotent; refills never race)."""
    from tenants import schema_pool

    return schema_pool.refill().ready
