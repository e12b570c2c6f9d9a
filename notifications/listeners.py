"""Reactions to other domains' typed events (``askpro.hooks``): create notifications and queue them.

Each listener runs in a worker, delivered through the outbox, and is idempotent: a delivery is
created once per event, recipient and channel (``services`` dedupes by key). Appointment and
call events arrive in the tenant's schema; billing events arrive in the public schema and are
handled in the schema of their ``tenant_id``.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone, translation
from django_tenants.utils import get_tenant_model, tenant_context

from appointments.events import AppointmentBooked, AppointmentCancelled, AppointmentRescheduled
from askpro.hooks import listens_to
from billing.events import InvoiceIssued, LowBalance, PaymentFailed, TopupCompleted
from calls.events import CallbackEscalated, CallbackRequested
from notifications import events as ev
from notifications import queries, services
from notifications.rendering import format_money

logger = logging.getLogger(__name__)

AppointmentEvent = AppointmentBooked | AppointmentRescheduled | AppointmentCancelled
BillingEvent = LowBalance | TopupCompleted | PaymentFailed | InvoiceIssued

_APPOINTMENT_EVENTS: dict[type[AppointmentEvent], str] = {
    AppointmentBooked: ev.APPOINTMENT_CONFIRMED,
    AppointmentRescheduled: ev.APPOINTMENT_RESCHEDULED,
    AppointmentCancelled: ev.APPOINTMENT_CANCELLED,
}
_BILLING_EVENTS: dict[type[BillingEvent], str] = {
    LowBalance: ev.LOW_BALANCE,
    TopupCompleted: ev.TOPUP_COMPLETED,
    PaymentFailed: ev.PAYMENT_FAILED,
    InvoiceIssued: ev.INVOICE_ISSUED,
}


@listens_to(AppointmentBooked, AppointmentRescheduled, AppointmentCancelled, queue="notifications")
def notify_customer_of_appointment_change(event: AppointmentEvent) -> None:
    """The customer hears about a booking, move or cancellation unless the source said not to."""
    if not event.notify_customer:
        return
    previous = event.previous_starts_at if isinstance(event, AppointmentRescheduled) else None
    services.notify_appointment_event(_APPOINTMENT_EVENTS[type(event)], event.appointment_id, previous_starts_at=previous)


@listens_to(LowBalance, TopupCompleted, PaymentFailed, InvoiceIssued, queue="notifications")
def notify_business_of_billing_event(event: BillingEvent) -> None:
    tenant = get_tenant_model().objects.filter(pk=event.tenant_id).first()
    if tenant is None:
        logger.warning("%s for unknown tenant %s", event.event_name, event.tenant_id)
        return
    with tenant_context(tenant):
        services.notify_business(
            tenant, _BILLING_EVENTS[type(event)], billing_values(event, tenant.locale), ref=billing_ref(event, tenant),
        )


def billing_values(event: BillingEvent, language: str) -> dict[str, str]:
    """The template values of a billing event (amounts formatted in the tenant's language)."""
    values: dict[str, str] = {}
    if isinstance(event, InvoiceIssued):
        values["amount"] = format_money(event.gross_cents, "EUR", language)
        values["amount_due"] = format_money(event.amount_due_cents, "EUR", language)
        values["invoice_number"] = event.number
    elif isinstance(event, LowBalance):
        values["balance"] = format_money(event.balance_cents, "EUR", language)
    elif isinstance(event, TopupCompleted):
        values["amount"] = format_money(event.amount_cents, "EUR", language)
        values["balance"] = format_money(event.balance_cents, "EUR", language)
    else:
        values["amount"] = format_money(event.amount_cents, "EUR", language)
    return values


def billing_ref(event: BillingEvent, tenant: object) -> str:
    """What a billing notification is about (its idempotency): one message per invoice, top-up
    or failed Stripe invoice; a low-balance warning at most once a day."""
    if isinstance(event, InvoiceIssued):
        return f"invoice_id:{event.invoice_id}" + (f":resend:{timezone.now():%Y%m%dT%H%M%S}" if event.resend else "")
    if isinstance(event, TopupCompleted):
        return f"topup_id:{event.topup_id}"
    if isinstance(event, PaymentFailed):
        if event.topup_id is not None:
            return f"topup_id:{event.topup_id}"
        if event.stripe_invoice_id:
            return f"stripe_invoice_id:{event.stripe_invoice_id}"
    tzinfo = getattr(tenant, "tzinfo", dt.UTC)
    return f"day:{timezone.now().astimezone(tzinfo).date().isoformat()}"


@listens_to(CallbackRequested, queue="notifications")
def notify_business_of_callback(event: CallbackRequested) -> None:
    tenant = queries.current_tenant()
    services.notify_business(tenant, ev.CALLBACK_REQUESTED, callback_values(event, tenant.locale),
                             ref=f"callback:{event.callback_id}")


@listens_to(CallbackEscalated, queue="notifications")
def notify_business_of_escalated_callback(event: CallbackEscalated) -> None:
    """An overdue callback stepped up its priority: the business hears about it once per step."""
    tenant = queries.current_tenant()
    services.notify_business(tenant, ev.CALLBACK_ESCALATED, callback_values(event, tenant.locale),
                             ref=f"callback:{event.callback_id}:escalation:{event.escalation_count}")


def callback_values(event: CallbackRequested | CallbackEscalated, language: str) -> dict[str, str]:
    """Name, phone and a readable reason (in the business's language) from the event."""
    with translation.override(language or "de"):
        reason = event.reason_text()
        priority = event.priority_text()
    return {
        "callback_name": event.name,
        "callback_phone": event.phone,
        "callback_reason": reason,
        "callback_priority": priority,
    }
