"""Celery tasks of the booking domain (thin callers of its services)."""

from __future__ import annotations

from typing import Any

from askpro.celery import app
from askpro.tenancy import for_each_tenant


@app.task(name="appointments.recompute_journeys")
def recompute_journeys() -> int:
    """Nightly: recompute every customer's journey in every active tenant (time moves customers to
    at_risk and churned without any event); returns how many changed."""
    from appointments import journey

    changed = 0

    def run(_tenant: Any) -> None:
        nonlocal changed
        changed += journey.recompute_all()

    for_each_tenant(run)
    return changed
