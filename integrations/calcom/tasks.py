"""Celery tasks of the Cal.com sync (queue ``webhooks`` by the ``calcom.*`` route).

Tasks are queued in a tenant's schema and run there (tenant-schemas-celery).
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from askpro.celery import app
from askpro.tenancy import for_each_tenant
from integrations.calcom import drift, push, queries
from integrations.calcom.errors import CalcomNotConnected
from integrations.errors import IntegrationError

logger = logging.getLogger(__name__)


@app.task(name="calcom.push_appointment", bind=True, acks_late=True, ignore_result=True)
def push_appointment(self: Any, appointment_id: int) -> str:
    """Push one appointment to Cal.com; on a temporary failure queue the next attempt (backoff).

    A lost retry (worker or broker gone) is picked up by ``calcom.reconcile_tenant``, which
    re-queues due pushes. Eager runs (tests, shell) leave retries to that sweep.
    """
    outcome = push.push_appointment(appointment_id)
    if outcome.retry_in is not None and not self.request.is_eager:
        push_appointment.apply_async(args=[appointment_id], countdown=outcome.retry_in)
    return outcome.state


@app.task(name="calcom.reconcile", ignore_result=True)
def reconcile() -> int:
    """Beat entry: one ``calcom.reconcile_tenant`` per tenant with an active Cal.com connection."""

    def queue(tenant: Any) -> None:
        if queries.active_connection() is not None:
            reconcile_tenant.delay()

    return for_each_tenant(queue)


@app.task(name="calcom.reconcile_tenant", ignore_result=True)
def reconcile_tenant() -> dict[str, Any]:
    """Re-queue due pushes, detect drift since the last run and resolve it by the tenant's strategy."""
    due = list(queries.due_pushes(timezone.now()).values_list("appointment_id", flat=True))
    for appointment_id in due:
        push_appointment.delay(appointment_id)
    try:
        report = drift.detect_drift()
        resolved = drift.resolve_drift() if report.issues else None
    except (CalcomNotConnected, IntegrationError) as exc:
        logger.warning("Cal.com reconciliation skipped: %s", exc)
        return {"requeued": len(due), "error": str(exc)}
    return {"requeued": len(due), "drift": len(report.issues),
            "resolved": resolved.resolved if resolved else 0}
