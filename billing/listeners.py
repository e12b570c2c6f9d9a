"""Billing reacts to other domains' events (see askpro/hooks.py)."""

from __future__ import annotations

from askpro.hooks import Event, listens_to
from billing.tasks import charge_call


@listens_to("calls.call_ended")
def charge_finished_call(event: Event) -> None:
    """A call ended: charge its minutes against the tenant's balance, in a billing task."""
    payload = event.payload
    charge_call.delay(
        payload["tenant_id"],
        payload["call_id"],
        int(payload["duration_seconds"]),
        int(payload.get("provider_cost_cents") or 0),
        payload["ended_at"],
        payload.get("provider_currency") or "USD",
    )
