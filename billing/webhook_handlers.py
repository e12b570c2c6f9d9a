"""Stripe events from the webhook inbox (integrations) mapped to billing's event functions.

Imported by the inbox's ``app_modules("webhook_handlers")`` discovery; all logic lives in
``billing.stripe_events`` (tested through the webhook endpoint and the inbox worker's task with
localstripe and SDK-signed payloads, ``tests/billing/test_stripe.py``).
"""

from __future__ import annotations

from typing import Any

from billing import services, stripe_events
from billing.stripe_gateway import id_of
from integrations.inbox import IgnoreEvent, tenant_resolver, webhook_handler


def _bind(event_type: str) -> None:
    handler = stripe_events.HANDLERS[event_type]

    @webhook_handler("stripe", event_type)
    def handle(event: Any) -> None:
        if event.tenant is None:
            # Neither tenant metadata nor a customer of ours: nothing of ours to change.
            obj = (event.payload.get("data") or {}).get("object") or {}
            customer = obj.get("id") if obj.get("object") == "customer" else id_of(obj.get("customer"))
            raise IgnoreEvent(f"unknown Stripe customer {customer or '-'} (no billing account, no tenant metadata)")
        handler(event.payload)

    handle.__name__ = f"stripe_{event_type.replace('.', '_')}"


for _event_type in stripe_events.HANDLERS:
    _bind(_event_type)


# Stripe objects carry our tenant in metadata, or a Stripe customer id we know.
tenant_resolver("stripe")(services.tenant_for_stripe_event)
