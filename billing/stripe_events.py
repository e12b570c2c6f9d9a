"""What each Stripe event does to billing, as plain functions taking the parsed event dict.

The webhook inbox (integrations) verifies, stores and de-duplicates deliveries and calls these
through ``billing/webhook_handlers.py``. Each function is idempotent and safe out of order:
state only moves forward (a late ``payment_failed`` after ``succeeded`` changes nothing), and
every ledger row carries a unique key derived from the Stripe object.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from billing import services
from billing.events import PaymentFailed
from billing.models import BillingAccount, Invoice, StripeInvoice, Topup
from billing.stripe_gateway import id_of

logger = logging.getLogger(__name__)


def _object(event: dict[str, Any]) -> dict[str, Any]:
    return (event.get("data") or {}).get("object") or {}


def _topup_by_metadata(obj: dict[str, Any], intent_id: str) -> None:
    """Link a top-up created through Checkout (no intent id known yet) to its PaymentIntent."""
    topup_id = (obj.get("metadata") or {}).get("topup_id")
    if intent_id and topup_id and str(topup_id).isdigit():
        Topup.objects.filter(pk=int(topup_id), stripe_payment_intent_id__isnull=True).update(
            stripe_payment_intent_id=intent_id
        )


def handle_payment_intent_succeeded(event: dict[str, Any]) -> None:
    intent = _object(event)
    _topup_by_metadata(intent, intent.get("id", ""))
    services.complete_topup(
        payment_intent_id=intent["id"],
        amount_cents=int(intent.get("amount_received") or intent.get("amount") or 0),
        charge_id=id_of(intent.get("latest_charge")),
        payment_method_id=id_of(intent.get("payment_method")),
    )


def handle_payment_intent_payment_failed(event: dict[str, Any]) -> None:
    intent = _object(event)
    _topup_by_metadata(intent, intent.get("id", ""))
    error = intent.get("last_payment_error") or {}
    services.fail_topup(payment_intent_id=intent["id"], reason=error.get("message") or "payment failed")


def handle_charge_refunded(event: dict[str, Any]) -> None:
    charge = _object(event)
    intent_id = id_of(charge.get("payment_intent"))
    if not intent_id:
        return
    if charge.get("status") == "succeeded" or charge.get("paid"):
        # The refund may arrive before payment_intent.succeeded: the charge proves the payment.
        services.complete_topup(
            payment_intent_id=intent_id, amount_cents=int(charge.get("amount") or 0), charge_id=charge.get("id", "")
        )
    services.reverse_refunded_topup(
        payment_intent_id=intent_id, charge_id=charge.get("id", ""),
        amount_refunded_cents=int(charge.get("amount_refunded") or 0),
    )


def _link_checkout(session: dict[str, Any], intent_id: str) -> None:
    Topup.objects.filter(
        stripe_checkout_session_id=session.get("id"), stripe_payment_intent_id__isnull=True
    ).update(stripe_payment_intent_id=intent_id)
    _topup_by_metadata(session, intent_id)


def handle_checkout_session_completed(event: dict[str, Any]) -> None:
    session = _object(event)
    intent_id = id_of(session.get("payment_intent"))
    if not intent_id:
        return
    _link_checkout(session, intent_id)
    if session.get("payment_status") != "paid":
        return  # delayed methods finish with checkout.session.async_payment_succeeded
    services.complete_topup(payment_intent_id=intent_id, amount_cents=int(session.get("amount_total") or 0))


handle_checkout_session_async_payment_succeeded = handle_checkout_session_completed


def handle_checkout_session_async_payment_failed(event: dict[str, Any]) -> None:
    session = _object(event)
    intent_id = id_of(session.get("payment_intent"))
    if intent_id:
        _link_checkout(session, intent_id)
        services.fail_topup(payment_intent_id=intent_id, reason="asynchronous payment failed")


# Stripe-side invoices (subscriptions). Terminal states never move back.
_INVOICE_RANK = {"draft": 0, "open": 1, "paid": 2, "void": 2, "uncollectible": 2}


def _mirror_invoice(event: dict[str, Any], status: str | None = None) -> StripeInvoice:
    data = _object(event)
    status = status or data.get("status") or "open"
    customer = id_of(data.get("customer"))
    account = BillingAccount.objects.filter(stripe_customer_id=customer).first() if customer else None
    with transaction.atomic():
        mirror, _created = StripeInvoice.objects.select_for_update().get_or_create(
            stripe_id=data["id"], defaults={"status": status, "account": account}
        )
        current = _INVOICE_RANK.get(mirror.status, 0)
        if _created or _INVOICE_RANK.get(status, 0) > current or (
            # uncollectible invoices can still be paid
            mirror.status == "uncollectible" and status == "paid"
        ):
            mirror.status = status
        mirror.account = mirror.account or account
        mirror.number = data.get("number") or mirror.number
        mirror.amount_due_cents = int(data.get("amount_due") or 0)
        mirror.amount_paid_cents = max(mirror.amount_paid_cents, int(data.get("amount_paid") or 0))
        mirror.currency = (data.get("currency") or "eur").upper()
        mirror.hosted_invoice_url = data.get("hosted_invoice_url") or mirror.hosted_invoice_url
        mirror.attempt_count = max(mirror.attempt_count, int(data.get("attempt_count") or 0))
        mirror.save()
        # An AskPro invoice collected through Stripe follows its Stripe twin.
        ours = Invoice.objects.select_for_update().filter(stripe_invoice_id=data["id"]).first()
        if ours is not None:
            if mirror.status == "paid" and ours.status in {Invoice.Status.OPEN, Invoice.Status.OVERDUE, Invoice.Status.UNCOLLECTIBLE}:
                ours.status, ours.paid_at = Invoice.Status.PAID, timezone.now()
                ours.save(update_fields=["status", "paid_at"])
            elif mirror.status == "void" and ours.status in {Invoice.Status.OPEN, Invoice.Status.OVERDUE}:
                ours.status, ours.voided_at = Invoice.Status.VOID, timezone.now()
                ours.save(update_fields=["status", "voided_at"])
            elif mirror.status == "uncollectible" and ours.status in {Invoice.Status.OPEN, Invoice.Status.OVERDUE}:
                ours.status = Invoice.Status.UNCOLLECTIBLE
                ours.save(update_fields=["status"])
    return mirror


def handle_invoice_finalized(event: dict[str, Any]) -> None:
    _mirror_invoice(event, "open")


def handle_invoice_paid(event: dict[str, Any]) -> None:
    _mirror_invoice(event, "paid")


def handle_invoice_payment_failed(event: dict[str, Any]) -> None:
    from askpro import hooks

    mirror = _mirror_invoice(event)
    if mirror.account is not None and mirror.status == "open":
        hooks.emit(PaymentFailed(
            tenant_id=mirror.account.tenant_id, stripe_invoice_id=mirror.stripe_id,
            amount_cents=mirror.amount_due_cents, reason="invoice payment failed",
        ))


def handle_invoice_voided(event: dict[str, Any]) -> None:
    _mirror_invoice(event, "void")


def handle_invoice_marked_uncollectible(event: dict[str, Any]) -> None:
    _mirror_invoice(event, "uncollectible")


def _subscription(event: dict[str, Any], deleted: bool) -> None:
    sub = _object(event)
    customer = id_of(sub.get("customer"))
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().filter(stripe_customer_id=customer).first()
        if account is None:
            logger.info("subscription %s for unknown customer %s", sub.get("id"), customer)
            return
        same = account.stripe_subscription_id == sub.get("id")
        if same and account.stripe_subscription_status == "canceled" and not deleted:
            return  # an update delivered after the deletion
        BillingAccount.objects.filter(pk=account.pk).update(
            stripe_subscription_id=sub.get("id", ""),
            stripe_subscription_status="canceled" if deleted else (sub.get("status") or ""),
        )


def handle_customer_subscription_updated(event: dict[str, Any]) -> None:
    _subscription(event, deleted=False)


def handle_customer_subscription_deleted(event: dict[str, Any]) -> None:
    _subscription(event, deleted=True)


HANDLERS = {
    "payment_intent.succeeded": handle_payment_intent_succeeded,
    "payment_intent.payment_failed": handle_payment_intent_payment_failed,
    "charge.refunded": handle_charge_refunded,
    "checkout.session.completed": handle_checkout_session_completed,
    "checkout.session.async_payment_succeeded": handle_checkout_session_async_payment_succeeded,
    "checkout.session.async_payment_failed": handle_checkout_session_async_payment_failed,
    "invoice.finalized": handle_invoice_finalized,
    "invoice.paid": handle_invoice_paid,
    "invoice.payment_failed": handle_invoice_payment_failed,
    "invoice.voided": handle_invoice_voided,
    "invoice.marked_uncollectible": handle_invoice_marked_uncollectible,
    "customer.subscription.updated": handle_customer_subscription_updated,
    "customer.subscription.deleted": handle_customer_subscription_deleted,
}

