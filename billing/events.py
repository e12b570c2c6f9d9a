"""Domain events the billing app emits (``askpro.hooks``), in the public schema.

Amounts are EUR cents. Listeners that act in a tenant's schema switch by ``tenant_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from askpro.hooks import DomainEvent


@dataclass(frozen=True)
class LowBalance(DomainEvent):
    """Once per crossing below the account's threshold."""

    event_name: ClassVar[str] = "billing.low_balance"
    tenant_id: int
    account_id: int
    balance_cents: int
    threshold_cents: int


@dataclass(frozen=True)
class TopupCompleted(DomainEvent):
    event_name: ClassVar[str] = "billing.topup_completed"
    tenant_id: int
    topup_id: int
    amount_cents: int
    bonus_cents: int
    balance_cents: int


@dataclass(frozen=True)
class PaymentFailed(DomainEvent):
    """A failed top-up (``topup_id``) or a failed Stripe invoice (``stripe_invoice_id``)."""

    event_name: ClassVar[str] = "billing.payment_failed"
    tenant_id: int
    amount_cents: int
    reason: str
    topup_id: int | None = None
    stripe_invoice_id: str = ""


@dataclass(frozen=True)
class InvoiceIssued(DomainEvent):
    """An invoice was issued (PDF on ``billing.Invoice.pdf``); ``resend`` when an operator re-sends it."""

    event_name: ClassVar[str] = "billing.invoice_issued"
    tenant_id: int
    invoice_id: int
    number: str
    gross_cents: int
    amount_due_cents: int
    resend: bool = False
