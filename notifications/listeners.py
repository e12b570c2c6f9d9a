"""Reactions to other domains' events (askpro.hooks): create notifications and queue them.

Appointment and call events arrive in the tenant's schema; billing events arrive in the public
schema with ``tenant_id`` and are handled in that tenant's schema.
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.utils import timezone
from django_tenants.utils import get_tenant_model, tenant_context

from askpro.hooks import Event, listens_to
from notifications import events as ev
from notifications import queries, services
from notifications.rendering import format_money
from notifications.tasks import notify_appointment_change

logger = logging.getLogger(__name__)

_APPOINTMENT_EVENTS = {
    "appointment.booked": ev.APPOINTMENT_CONFIRMED,
    "appointment.rescheduled": ev.APPOINTMENT_RESCHEDULED,
    "appointment.cancelled": ev.APPOINTMENT_CANCELLED,
}
_BILLING_EVENTS = {
    "billing.low_balance": ev.LOW_BALANCE,
    "billing.topup_completed": ev.TOPUP_COMPLETED,
    "billing.payment_failed": ev.PAYMENT_FAILED,
    "billing.invoice_issued": ev.INVOICE_ISSUED,
}
# The first of these payload ids names what a billing notification is about (its idempotency).
_BILLING_REFS = ("invoice_id", "topup_id", "payment_id", "payment_intent_id", "transaction_id", "event_id")


@listens_to(*_APPOINTMENT_EVENTS)
def notify_customer_of_appointment_change(event: Event) -> None:
    # Rendering and configuration lookups run in the worker, not in the booking request (the
    # voice agent waits on that request); the task is idempotent like the service it calls.
    notify_appointment_change.delay(
        _APPOINTMENT_EVENTS[event.name], int(event.payload["appointment_id"]),
        event.payload.get("previous_starts_at"),
    )


@listens_to(*_BILLING_EVENTS)
def notify_business_of_billing_event(event: Event) -> None:
    tenant = get_tenant_model().objects.filter(pk=event.payload.get("tenant_id")).first()
    if tenant is None:
        logger.warning("%s for unknown tenant %s", event.name, event.payload.get("tenant_id"))
        return
    payload = event.payload
    with tenant_context(tenant):
        services.notify_business(
            tenant, _BILLING_EVENTS[event.name], billing_values(payload, tenant.locale),
            ref=billing_ref(payload, tenant),
        )


def billing_values(payload: dict[str, Any], language: str) -> dict[str, str]:
    currency = str(payload.get("currency") or "EUR")
    values: dict[str, str] = {}
    for cents_key, name in (("amount_cents", "amount"), ("balance_cents", "balance")):
        if payload.get(cents_key) is not None:
            values[name] = format_money(int(payload[cents_key]), currency, language)
    if payload.get("invoice_number"):
        values["invoice_number"] = str(payload["invoice_number"])
    elif payload.get("invoice_id") is not None:
        values["invoice_number"] = str(payload["invoice_id"])
    return values


def billing_ref(payload: dict[str, Any], tenant: Any) -> str:
    for key in _BILLING_REFS:
        if payload.get(key) not in (None, ""):
            return f"{key}:{payload[key]}"
    # Without an id (a low-balance warning) the business hears about it at most once a day.
    return f"day:{timezone.now().astimezone(tenant.tzinfo).date().isoformat()}"


@listens_to("calls.callback_requested")
def notify_business_of_callback(event: Event) -> None:
    values = callback_values(event.payload)
    services.notify_business(
        queries.current_tenant(), ev.CALLBACK_REQUESTED, values, ref=f"callback:{event.payload['callback_id']}"
    )


def callback_values(payload: dict[str, Any]) -> dict[str, str]:
    """Values from the payload, completed from the calls app's callback row when it has one."""
    source: dict[str, Any] = dict(payload)
    for model_name in ("CallbackRequest", "Callback"):
        try:
            model = apps.get_model("calls", model_name)
        except LookupError:
            continue
        row = model.objects.filter(pk=payload.get("callback_id")).first()
        if row is not None:
            for attr in ("name", "customer_name", "caller_name", "phone", "phone_number", "caller_phone", "reason", "notes", "topic"):
                if attr not in source and getattr(row, attr, None):
                    source[attr] = getattr(row, attr)
        break

    def first(*keys: str) -> str:
        return next((str(source[k]) for k in keys if source.get(k)), "")

    return {
        "callback_name": first("caller_name", "customer_name", "name"),
        "callback_phone": first("caller_phone", "phone", "phone_number"),
        "callback_reason": first("reason", "topic", "notes"),
    }
