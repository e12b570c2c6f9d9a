"""Billing health: Stripe reachability, stuck top-ups (webhook backlog), the ledger invariant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import stripe
from django.utils import timezone

from billing import queries, stripe_gateway
from billing.models import Invoice, Topup

STUCK_AFTER = timedelta(hours=1)


def stripe_check() -> dict[str, Any]:
    if not stripe_gateway.is_configured():
        return {"status": "ok", "configured": False}
    try:
        stripe_gateway.client().v1.balance.retrieve()
    except stripe.StripeError as exc:
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"status": "ok", "configured": True, "local": stripe_gateway.is_local()}


def problems() -> list[str]:
    """Human-readable problems; empty when billing is healthy."""
    found: list[str] = []
    stripe_status = stripe_check()
    if stripe_status["status"] != "ok":
        found.append(f"Stripe unreachable: {stripe_status.get('error', '')}")
    stuck = Topup.objects.filter(status=Topup.Status.PENDING, created_at__lt=timezone.now() - STUCK_AFTER)
    stuck = stuck.exclude(stripe_payment_intent_id__isnull=True, stripe_checkout_session_id__isnull=True)
    if stuck.exists():
        found.append(f"{stuck.count()} top-up(s) pending for more than an hour (webhook backlog?)")
    for account_id, balance, ledger in queries.ledger_mismatches():
        found.append(f"ledger invariant broken for account {account_id}: balance {balance} != ledger {ledger}")
    missing_pdf = Invoice.objects.exclude(status=Invoice.Status.DRAFT).filter(pdf="").count()
    if missing_pdf:
        found.append(f"{missing_pdf} issued invoice(s) without PDF (re-run billing_run for their period)")
    return found
