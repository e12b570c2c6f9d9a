"""Billing health: Stripe reachability, stuck top-ups (webhook backlog), the ledger invariant,
finished calls never charged and owed effects (the outbox) past their deadline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import connection
from django.utils import timezone

from askpro import outbox
from askpro.tenancy import business_tenants
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
    for schema, call_ids in unrecorded_calls().items():
        shown = ", ".join(call_ids[:10]) + (", ..." if len(call_ids) > 10 else "")
        found.append(f"{len(call_ids)} finished call(s) of {schema} emitted for billing but never charged: {shown}")
    for handler, count, oldest in overdue_effects():
        found.append(f"{count} owed effect(s) {handler} not delivered by their deadline (oldest from {oldest:%Y-%m-%d %H:%M} UTC)")
    missing_pdf = Invoice.objects.exclude(status=Invoice.Status.DRAFT).filter(pdf="").count()
    if missing_pdf:
        found.append(f"{missing_pdf} issued invoice(s) without PDF (re-run billing_run for their period)")
    return found


def unrecorded_calls(now: Any = None) -> dict[str, list[str]]:
    """Per tenant schema: calls whose usage was handed to billing (``usage_emitted_at``) longer
    than the outbox deadline ago without a usage record, i.e. a finished call left unbilled."""
    before = (now or timezone.now()) - timedelta(seconds=settings.OUTBOX_DEADLINE_SECONDS)
    found: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for tenant in business_tenants(include_suspended=True):
            schema = connection.ops.quote_name(tenant.schema_name)
            cursor.execute(
                f"SELECT c.call_id FROM {schema}.calls_call c WHERE c.usage_emitted_at IS NOT NULL"  # noqa: S608
                " AND c.usage_emitted_at < %s AND NOT EXISTS"
                " (SELECT 1 FROM public.billing_usagerecord u WHERE u.call_id = c.call_id) ORDER BY c.call_id",
                [before],
            )
            call_ids = [str(row[0]) for row in cursor.fetchall()]
            if call_ids:
                found[tenant.schema_name] = call_ids
    return found


def overdue_effects(now: Any = None) -> list[tuple[str, int, Any]]:
    """(handler or listener, count, oldest creation) of outbox effects not done by their deadline."""
    grouped: dict[str, list[Any]] = {}
    for handler, payload, created_at in outbox.overdue(now).values_list("handler", "payload", "created_at"):
        name = payload.get("listener", handler) if isinstance(payload, dict) else handler
        grouped.setdefault(name, []).append(created_at)
    return [(name, len(times), min(times)) for name, times in sorted(grouped.items())]
