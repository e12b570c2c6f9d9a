"""Celery tasks of the data-protection domain (thin callers of privacy.services)."""

from __future__ import annotations

from typing import Any

from askpro.celery import app
from askpro.tenancy import for_each_tenant


@app.task(name="privacy.apply_retention")
def apply_retention() -> int:
    """Nightly: apply each tenant's retention policy (idempotent, logged); returns tenants run."""
    from privacy import services

    def run(_tenant: object) -> None:
        services.apply_retention()

    return for_each_tenant(run)


@app.task(name="privacy.remind_deletion_requests")
def remind_deletion_requests() -> int:
    """Nightly: remind each business of deletion requests due within a week or overdue."""
    from privacy import services

    created = 0

    def run(tenant: Any) -> None:
        nonlocal created
        created += services.remind_due_requests(tenant)

    for_each_tenant(run)
    return created
