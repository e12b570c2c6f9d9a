"""Billing reacts to other domains' events (``askpro.hooks``) and runs its own owed effects
(``askpro.outbox``); both run in a worker, durably, and are idempotent."""

from __future__ import annotations

from typing import Any

from askpro.hooks import listens_to
from askpro.outbox import effect_handler
from billing import ledger, services
from calls.events import CallEnded
from tenants.models import Tenant


@listens_to(CallEnded, queue="billing")
def charge_finished_call(event: CallEnded) -> None:
    """A call ended: charge its minutes against the tenant's balance (once per ``call_id``)."""
    services.record_call_usage(
        tenant=Tenant.objects.get(pk=event.tenant_id),
        call_id=event.call_id,
        duration_seconds=event.duration_seconds,
        provider_cost_cents=event.provider_cost_cents,
        provider_currency=event.provider_currency or "USD",
        ended_at=event.ended_at,
    )


@effect_handler(ledger.AUTO_TOPUP_EFFECT, queue="billing")
def run_auto_topup(payload: dict[str, Any]) -> None:
    """The balance crossed the auto top-up threshold: charge the saved card (guarded by a cool-off)."""
    services.run_auto_topup(int(payload["account_id"]))
