"""Celery tasks of the booking domain (thin callers of its services)."""

from __future__ import annotations

from typing import Any

from askpro.celery import app
from askpro.tenancy import for_each_tenant


@app.task(name="appointments.recompute_journeys")
def recompute_journeys() -> int:
    """Nightly: recompute every customer's journey and value in every active tenant (time moves
    customers to at_risk and churned, and ends the recency bonus, without any event); returns how
    many journeys changed."""
    from appointments import crm

    changed = 0

    def run(_tenant: Any) -> None:
        nonlocal changed
        changed += crm.refresh_all()[0]

    for_each_tenant(run)
    return changed
