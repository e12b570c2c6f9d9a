"""Celery tasks of the voice-agent domain (thin callers of calls.services)."""

from __future__ import annotations

from typing import Any

from askpro.celery import app
from askpro.tenancy import for_each_tenant
from calls import services


@app.task(name="calls.escalate_overdue_callbacks")
def escalate_overdue_callbacks() -> int:
    """Periodic: escalate overdue callback requests in every active tenant."""
    escalated = 0

    def run(_tenant: Any) -> None:
        nonlocal escalated
        escalated += len(services.escalate_overdue_callbacks())

    for_each_tenant(run)
    return escalated
