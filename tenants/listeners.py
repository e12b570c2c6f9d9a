"""Effects the tenants app owes a worker (``askpro.outbox``)."""

from __future__ import annotations

from typing import Any

from askpro.outbox import effect_handler
from tenants import services


@effect_handler(services.CREATE_TENANT_EFFECT)
def create_requested_tenant(payload: dict[str, Any]) -> None:
    """A tenant requested in the platform admin: create it and record each step on its job."""
    services.run_tenant_creation(int(payload["job_id"]))
