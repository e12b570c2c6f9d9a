"""Reactions of the voice-agent domain to its own events (askpro.hooks): the caller's customer value."""

from __future__ import annotations

from askpro.hooks import listens_to
from calls.events import CallEnded


@listens_to(CallEnded)
def refresh_callers_customer_value(event: CallEnded) -> None:
    """A call counts toward the customer's engagement score (idempotent: the value is recomputed)."""
    from appointments import crm
    from calls.models import Call

    customer_id = Call.objects.filter(call_id=event.call_id).values_list("customer_id", flat=True).first()
    if customer_id is not None:
        crm.refresh_customer_value(customer_id)
