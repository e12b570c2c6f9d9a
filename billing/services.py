"""Billing writes: the ledger, call charging, top-ups and adjustments.

Every balance change goes through :func:`billing.ledger.post` while the account row is locked
(:func:`billing.ledger.lock_account`) inside one database transaction, so concurrent charges and
top-ups never lose an update and ``balance_cents`` always equals the sum of the account's ledger.
Side effects (hooks, Celery tasks, Stripe calls) happen after commit or outside the lock.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from askpro import hooks
from billing import ledger, stripe_gateway
from billing.errors import (
    AccountNotFound,
    InvalidAmount,
    PaymentDeclined,
    PaymentProviderError,
    UsageConflict,
)
from billing.events import PaymentFailed, TopupCompleted
from billing.models import (
    BillingAccount,
    BonusTier,
    Invoice,
    PlatformCost,
    PricingPlan,
    Topup,
    Transaction,
    UsageRecord,
)
from billing.money import (
    ConvertedCost,
    Period,
    parse_exchange_rates,
    round_cents,
    to_eur,
    vat_of,
    vat_rate_for,
)
from tenants.models import Tenant

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams, PaymentIntentCreateParams

logger = logging.getLogger(__name__)

AUTO_TOPUP_COOL_OFF_SECONDS = 24 * 3600


# --- accounts and plans ---------------------------------------------------------------------


def default_plan() -> PricingPlan:
    """The plan new accounts get; created with conservative defaults when none is marked."""
    plan = PricingPlan.objects.filter(is_default=True).first()
    if plan is not None:
        return plan
    try:
        with transaction.atomic():
            return PricingPlan.objects.create(
                name="Standard", price_per_minute_cents=29, is_default=True,
                billing_increment=PricingPlan.Increment.PER_SECOND,
            )
    except IntegrityError:  # created concurrently
        return PricingPlan.objects.get(is_default=True)


def ensure_account(tenant: Tenant) -> BillingAccount:
    """The tenant's billing account, created on first use with the default plan."""
    account = BillingAccount.objects.filter(tenant=tenant).select_related("plan").first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return BillingAccount.objects.create(
                tenant=tenant, plan=default_plan(), company_name=tenant.name
            )
    except IntegrityError:
        return BillingAccount.objects.select_related("plan").get(tenant=tenant)


def account_for(tenant: Tenant) -> BillingAccount:
    account = BillingAccount.objects.filter(tenant=tenant).select_related("plan").first()
    if account is None:
        raise AccountNotFound(details={"tenant": tenant.slug})
    return account


# --- the ledger -----------------------------------------------------------------------------


def post_transaction(
    account: BillingAccount,
    *,
    kind: str,
    amount_cents: int,
    idempotency_key: str,
    reference_type: str = "",
    reference_id: str = "",
    description: str = "",
    actor: str = "system",
) -> Transaction:
    """Book one ledger row atomically with the account locked; a repeated key returns the first row."""
    if kind not in Transaction.Kind.values:
        raise InvalidAmount(_("Unknown transaction type."), details={"kind": kind})
    with transaction.atomic():
        locked = ledger.lock_account(account.pk)
        txn = ledger.post(
            locked, kind=kind, amount_cents=amount_cents, idempotency_key=idempotency_key,
            reference_type=reference_type, reference_id=reference_id,
            description=description, actor=actor,
        )
    account.balance_cents = locked.balance_cents
    return txn


def adjust_balance(
    tenant: Tenant, *, amount_cents: int, reason: str, actor: str, idempotency_key: str | None = None
) -> Transaction:
    """An operator's correction (positive or negative) with a mandatory reason."""
    if not isinstance(amount_cents, int) or amount_cents == 0:
        raise InvalidAmount(_("The amount must be a non-zero number of cents."))
    if abs(amount_cents) > 10_000_000:
        raise InvalidAmount(_("Adjustments above 100,000 EUR are refused."))
    if not reason.strip():
        raise InvalidAmount(_("A reason is required."), details={"field": "reason"})
    account = ensure_account(tenant)
    return post_transaction(
        account, kind=Transaction.Kind.ADJUSTMENT, amount_cents=amount_cents,
        idempotency_key=idempotency_key or f"adjustment:{uuid.uuid4()}",
        reference_type="operator", description=reason.strip(), actor=actor,
    )


# --- call usage -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallPrice:
    billed_seconds: int
    included_seconds: int
    net_cents: int


def price_call(plan: PricingPlan, duration_seconds: int, included_seconds_left: int) -> CallPrice:
    """Round the duration to the plan's increment, use free minutes first, price the rest (net)."""
    unit = 60 if plan.billing_increment == PricingPlan.Increment.PER_STARTED_MINUTE else 1
    units = math.ceil(duration_seconds / unit) if duration_seconds > 0 else 0
    free_units = min(units, max(0, included_seconds_left) // unit)
    charged_seconds = (units - free_units) * unit
    net = round_cents(Decimal(charged_seconds) * Decimal(plan.price_per_minute_cents) / Decimal(60))
    return CallPrice(billed_seconds=units * unit, included_seconds=free_units * unit, net_cents=net)


def record_call_usage(
    *, tenant: Tenant, call_id: str, duration_seconds: int, provider_cost_cents: int, ended_at: datetime,
    provider_currency: str = "EUR",
) -> UsageRecord:
    """Charge one finished call exactly once (per ``call_id``, ever) and record the provider cost
    (``provider_cost_cents`` in ``provider_currency``, kept as billed and converted to EUR)."""
    call_id = (call_id or "").strip()
    if not call_id or len(call_id) > 100:
        raise InvalidAmount(_("A call id is required."), details={"field": "call_id"})
    if duration_seconds < 0 or provider_cost_cents < 0:
        raise InvalidAmount(_("Duration and cost must not be negative."))
    if timezone.is_naive(ended_at):
        raise InvalidAmount(_("The end time must carry a time zone."), details={"field": "ended_at"})

    existing = UsageRecord.objects.filter(call_id=call_id).first()
    if existing is None:
        account = ensure_account(tenant)
        with transaction.atomic():
            locked = ledger.lock_account(account.pk)
            existing = UsageRecord.objects.filter(call_id=call_id).first()
            if existing is None:
                cost = to_eur(provider_cost_cents, provider_currency, parse_exchange_rates(settings.BILLING_EUR_EXCHANGE_RATES))
                if cost.rate is None:
                    logger.warning("no EUR exchange rate for %s: call %s cost recorded as 0 EUR (billed %s)",
                                   cost.original_currency, call_id, provider_cost_cents)
                return _charge_call(locked, call_id, duration_seconds, cost, ended_at)
    if existing.account.tenant_id != tenant.pk:
        raise UsageConflict(details={"call_id": call_id})
    return existing


def _charge_call(
    account: BillingAccount, call_id: str, duration_seconds: int, cost: ConvertedCost, ended_at: datetime
) -> UsageRecord:
    plan = account.plan
    period = Period.of(ended_at, account.tenant.tzinfo)
    used = UsageRecord.objects.filter(account=account, period=period.first).aggregate(
        total=Sum("included_seconds")
    )["total"] or 0
    price = price_call(plan, duration_seconds, plan.included_minutes * 60 - used)
    vat = vat_of(price.net_cents, vat_rate_for(account.reverse_charge))
    gross = price.net_cents + vat
    txn = ledger.post(
        account, kind=Transaction.Kind.USAGE, amount_cents=-gross, idempotency_key=f"usage:{call_id}",
        reference_type="call", reference_id=call_id,
        description=_("Call %(call)s, %(seconds)s s") % {"call": call_id, "seconds": duration_seconds},
    )
    record = UsageRecord.objects.create(
        account=account, call_id=call_id, period=period.first, ended_at=ended_at,
        duration_seconds=duration_seconds, billed_seconds=price.billed_seconds,
        included_seconds=price.included_seconds, price_per_minute_cents=plan.price_per_minute_cents,
        net_cents=price.net_cents, vat_cents=vat, amount_cents=gross, plan=plan, transaction=txn,
    )
    # One statement, no savepoint: a cost recorded earlier for this call is kept.
    PlatformCost.objects.bulk_create(
        [PlatformCost(
            account=account, service_type=PlatformCost.Service.RETELL, reference=call_id, period=period.first,
            cost_cents=cost.eur_cents, original_cost_cents=cost.original_cents, original_currency=cost.original_currency,
            exchange_rate=cost.rate, quantity=duration_seconds, occurred_at=ended_at,
        )],
        ignore_conflicts=True,
    )
    return record


def record_platform_cost(
    *, tenant: Tenant, service_type: str, reference: str, cost_cents: int, occurred_at: datetime, quantity: int = 1
) -> PlatformCost:
    """Record a provider cost (SMS, Cal.com, ...) once per (service, reference)."""
    if service_type not in PlatformCost.Service.values or cost_cents < 0:
        raise InvalidAmount(details={"service_type": service_type})
    account = ensure_account(tenant)
    cost, _created = PlatformCost.objects.get_or_create(
        service_type=service_type, reference=reference,
        defaults={
            "account": account, "cost_cents": cost_cents, "quantity": quantity, "occurred_at": occurred_at,
            "period": Period.of(occurred_at, tenant.tzinfo).first,
        },
    )
    return cost


def can_accept_calls(tenant: Tenant) -> tuple[bool, str]:
    """Whether the voice agent may answer: False with a reason once the credit limit is used up."""
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None or account.balance_cents > -account.credit_limit_cents:
        return True, ""
    if not account.reject_calls_when_exhausted:
        return True, _("The balance is used up; calls are still answered (setting).")
    return False, _(
        "The prepaid balance is used up (%(balance)s EUR, credit limit %(limit)s EUR). "
        "Please top up to receive calls again."
    ) % {
        "balance": f"{account.balance_cents / 100:.2f}",
        "limit": f"{account.credit_limit_cents / 100:.2f}",
    }


# --- top-ups --------------------------------------------------------------------------------


def bonus_for(amount_cents: int) -> tuple[BonusTier | None, int]:
    """The best active tier the amount reaches and its bonus in cents."""
    tier = (
        BonusTier.objects.filter(is_active=True, min_topup_cents__lte=amount_cents)
        .order_by("-min_topup_cents")
        .first()
    )
    if tier is None:
        return None, 0
    if tier.kind == BonusTier.Kind.FIXED:
        return tier, tier.fixed_cents
    return tier, round_cents(Decimal(amount_cents) * tier.percentage / Decimal(100))


def validate_topup_amount(amount_cents: int) -> None:
    low, high = settings.BILLING_TOPUP_MIN_CENTS, settings.BILLING_TOPUP_MAX_CENTS
    if not isinstance(amount_cents, int) or not low <= amount_cents <= high:
        raise InvalidAmount(
            _("Top-ups must be between %(min)s and %(max)s EUR.")
            % {"min": f"{low / 100:.2f}", "max": f"{high / 100:.2f}"},
            details={"min_cents": low, "max_cents": high},
        )


def ensure_stripe_customer(account: BillingAccount) -> str:
    """The account's Stripe customer id, created once (idempotency key per account)."""
    if account.stripe_customer_id:
        return account.stripe_customer_id
    client = stripe_gateway.client()
    params: CustomerCreateParams = {
        "name": account.display_name,
        "metadata": {"tenant": account.tenant.slug, "account_id": str(account.pk)},
    }
    if account.billing_email:
        params["email"] = account.billing_email
    try:
        customer = client.v1.customers.create(
            params=params,
            options={"idempotency_key": f"askpro-customer-{account.pk}"},
        )
    except stripe.StripeError as exc:
        raise PaymentProviderError(details={"stripe": str(exc)[:200]}) from exc
    with transaction.atomic():
        locked = ledger.lock_account(account.pk)
        if not locked.stripe_customer_id:
            BillingAccount.objects.filter(pk=account.pk).update(stripe_customer_id=customer.id)
            locked.stripe_customer_id = customer.id
    account.stripe_customer_id = locked.stripe_customer_id
    return account.stripe_customer_id


@dataclass(frozen=True)
class StartedTopup:
    topup: Topup
    client_secret: str
    checkout_url: str


def start_topup(
    tenant: Tenant, *, amount_cents: int, actor: str, success_url: str = "", cancel_url: str = ""
) -> StartedTopup:
    """Create a pending top-up and its Stripe PaymentIntent (or Checkout session on real Stripe)."""
    validate_topup_amount(amount_cents)
    account = ensure_account(tenant)
    customer_id = ensure_stripe_customer(account)
    tier, bonus = bonus_for(amount_cents)
    topup = Topup.objects.create(
        account=account, amount_cents=amount_cents, bonus_cents=bonus, bonus_tier=tier,
        requested_by=actor[:200], source=Topup.Source.TENANT,
    )
    metadata = {"tenant": tenant.slug, "topup_id": str(topup.pk), "kind": "askpro_topup"}
    client = stripe_gateway.client()
    try:
        if stripe_gateway.checkout_available() and success_url:
            session = client.v1.checkout.sessions.create(
                params={
                    "mode": "payment", "customer": customer_id,
                    "line_items": [{
                        "quantity": 1,
                        "price_data": {
                            "currency": "eur", "unit_amount": amount_cents,
                            "product_data": {"name": _("AskPro balance top-up")},
                        },
                    }],
                    "payment_intent_data": {"metadata": metadata},
                    "metadata": metadata, "success_url": success_url, "cancel_url": cancel_url or success_url,
                },
                options={"idempotency_key": f"askpro-topup-{topup.pk}"},
            )
            Topup.objects.filter(pk=topup.pk).update(stripe_checkout_session_id=session.id)
            topup.stripe_checkout_session_id = session.id
            return StartedTopup(topup=topup, client_secret="", checkout_url=session.url or "")
        params: PaymentIntentCreateParams = {
            "amount": amount_cents, "currency": "eur", "customer": customer_id, "metadata": metadata,
        }
        stripe_gateway.restrict_to_cards(params)
        if stripe_gateway.is_local():
            params["payment_method"] = stripe_gateway.LOCAL_TEST_CARD
        intent = client.v1.payment_intents.create(
            params=params, options={"idempotency_key": f"askpro-topup-{topup.pk}"}
        )
    except stripe.StripeError as exc:
        Topup.objects.filter(pk=topup.pk).update(
            status=Topup.Status.FAILED, failure_reason=f"provider error: {exc}"[:500]
        )
        raise PaymentProviderError(details={"stripe": str(exc)[:200]}) from exc
    Topup.objects.filter(pk=topup.pk).update(stripe_payment_intent_id=intent.id)
    topup.stripe_payment_intent_id = intent.id
    return StartedTopup(topup=topup, client_secret=intent.client_secret or "", checkout_url="")


def pay_topup_with_test_card(topup: Topup) -> Topup:
    """Development only (localstripe): confirm the intent with the test card, then apply the result."""
    if not stripe_gateway.is_local() or not topup.stripe_payment_intent_id:
        raise PaymentProviderError(_("Test payments are only available against localstripe."))
    try:
        stripe_gateway.client().v1.payment_intents.confirm(topup.stripe_payment_intent_id)
    except stripe.CardError as exc:
        fail_topup(payment_intent_id=topup.stripe_payment_intent_id, reason=str(exc.user_message or exc))
        raise PaymentDeclined(str(exc.user_message or exc)) from exc
    except stripe.StripeError as exc:
        raise PaymentProviderError(details={"stripe": str(exc)[:200]}) from exc
    return sync_topup(topup)


def sync_topup(topup: Topup) -> Topup:
    """Fetch the intent from Stripe and apply its state (safe next to the webhook: idempotent)."""
    if not topup.stripe_payment_intent_id:
        return topup
    try:
        intent = stripe_gateway.client().v1.payment_intents.retrieve(topup.stripe_payment_intent_id)
    except stripe.StripeError as exc:
        raise PaymentProviderError(details={"stripe": str(exc)[:200]}) from exc
    if intent.status == "succeeded":
        complete_topup(
            payment_intent_id=intent.id, amount_cents=int(intent.amount),
            charge_id=stripe_gateway.id_of(getattr(intent, "latest_charge", None)),
        )
    return Topup.objects.get(pk=topup.pk)


def complete_topup(*, payment_intent_id: str, amount_cents: int, charge_id: str = "", payment_method_id: str = "") -> Topup | None:
    """Book the paid top-up and its bonus once; a repeat (webhook + success page) changes nothing."""
    with transaction.atomic():
        topup = Topup.objects.select_for_update().filter(stripe_payment_intent_id=payment_intent_id).first()
        if topup is None:
            return None
        if topup.status == Topup.Status.SUCCEEDED:
            return topup
        account = ledger.lock_account(topup.account_id)
        if amount_cents != topup.amount_cents:
            logger.warning("top-up %s paid %s instead of %s cents", topup.pk, amount_cents, topup.amount_cents)
            topup.bonus_tier, topup.bonus_cents = bonus_for(amount_cents)
            topup.amount_cents = amount_cents
        ledger.post(
            account, kind=Transaction.Kind.TOPUP, amount_cents=topup.amount_cents,
            idempotency_key=f"topup:{payment_intent_id}", reference_type="topup", reference_id=str(topup.pk),
            description=_("Top-up via Stripe"), actor=topup.requested_by,
        )
        if topup.bonus_cents:
            ledger.post(
                account, kind=Transaction.Kind.BONUS, amount_cents=topup.bonus_cents,
                idempotency_key=f"bonus:{payment_intent_id}", reference_type="topup", reference_id=str(topup.pk),
                description=_("Bonus %(tier)s") % {"tier": topup.bonus_tier or ""}, actor=topup.requested_by,
            )
        topup.status = Topup.Status.SUCCEEDED
        topup.failure_reason = ""
        topup.completed_at = timezone.now()
        topup.stripe_charge_id = charge_id or topup.stripe_charge_id
        topup.save()
        if payment_method_id and topup.source == Topup.Source.TENANT and not account.stripe_payment_method_id:
            BillingAccount.objects.filter(pk=account.pk).update(stripe_payment_method_id=payment_method_id)
        settle_open_invoices(account)
        hooks.emit(TopupCompleted(
            tenant_id=account.tenant_id, topup_id=topup.pk, amount_cents=topup.amount_cents,
            bonus_cents=topup.bonus_cents, balance_cents=account.balance_cents,
        ))
    return topup


def fail_topup(*, payment_intent_id: str, reason: str) -> Topup | None:
    """Mark a pending top-up failed with the reason; a late failure after success changes nothing."""
    with transaction.atomic():
        topup = Topup.objects.select_for_update().filter(stripe_payment_intent_id=payment_intent_id).first()
        if topup is None or topup.status != Topup.Status.PENDING:
            return topup
        topup.status = Topup.Status.FAILED
        topup.failure_reason = (reason or _("The payment failed."))[:500]
        topup.save(update_fields=["status", "failure_reason"])
        hooks.emit(PaymentFailed(
            tenant_id=topup.account.tenant_id, topup_id=topup.pk, amount_cents=topup.amount_cents,
            reason=topup.failure_reason,
        ))
    return topup


def reverse_refunded_topup(*, payment_intent_id: str, charge_id: str, amount_refunded_cents: int) -> Topup | None:
    """Book a reversal for newly refunded money (cumulative ``amount_refunded``) and the bonus share."""
    with transaction.atomic():
        topup = Topup.objects.select_for_update().filter(stripe_payment_intent_id=payment_intent_id).first()
        if topup is None or topup.status != Topup.Status.SUCCEEDED:
            return topup
        refunded = min(int(amount_refunded_cents), topup.amount_cents)
        delta = refunded - topup.refunded_cents
        if delta <= 0:
            return topup
        account = ledger.lock_account(topup.account_id)
        ledger.post(
            account, kind=Transaction.Kind.REVERSAL, amount_cents=-delta,
            idempotency_key=f"refund:{charge_id or payment_intent_id}:{refunded}",
            reference_type="topup", reference_id=str(topup.pk), description=_("Refund of a top-up"),
        )
        bonus_target = topup.bonus_cents * refunded // topup.amount_cents
        bonus_delta = bonus_target - topup.bonus_reversed_cents
        if bonus_delta > 0:
            ledger.post(
                account, kind=Transaction.Kind.REVERSAL, amount_cents=-bonus_delta,
                idempotency_key=f"refund-bonus:{charge_id or payment_intent_id}:{refunded}",
                reference_type="topup", reference_id=str(topup.pk), description=_("Bonus withdrawn after refund"),
            )
        topup.refunded_cents = refunded
        topup.bonus_reversed_cents = bonus_target
        topup.save(update_fields=["refunded_cents", "bonus_reversed_cents"])
    return topup


def run_auto_topup(account_id: int) -> Topup | None:
    """Charge the saved payment method off-session when the balance is below the auto threshold."""
    with transaction.atomic():
        account = ledger.lock_account(account_id)
        if not (
            account.auto_topup_enabled and account.stripe_payment_method_id and account.stripe_customer_id
            and account.balance_cents < account.auto_topup_threshold_cents
        ):
            return None
        recent = Topup.objects.filter(
            account=account, source=Topup.Source.AUTO,
            created_at__gte=timezone.now() - timedelta(seconds=AUTO_TOPUP_COOL_OFF_SECONDS),
        ).exclude(status=Topup.Status.SUCCEEDED)
        if recent.exists():  # one pending at a time; after a failure wait before retrying
            return None
        amount = account.auto_topup_amount_cents
        tier, bonus = bonus_for(amount)
        topup = Topup.objects.create(
            account=account, amount_cents=amount, bonus_cents=bonus, bonus_tier=tier,
            source=Topup.Source.AUTO, requested_by="auto-topup",
        )
    client = stripe_gateway.client()
    params: PaymentIntentCreateParams = {
        "amount": amount, "currency": "eur", "customer": account.stripe_customer_id,
        "payment_method": account.stripe_payment_method_id, "confirm": True, "off_session": True,
        "metadata": {"tenant": account.tenant.slug, "topup_id": str(topup.pk), "kind": "askpro_topup"},
    }
    stripe_gateway.restrict_to_cards(params)
    try:
        intent = client.v1.payment_intents.create(
            params=params,
            options={"idempotency_key": f"askpro-topup-{topup.pk}"},
        )
    except stripe.CardError as exc:
        intent_id = (getattr(exc, "json_body", None) or {}).get("error", {}).get("payment_intent", {})
        Topup.objects.filter(pk=topup.pk).update(stripe_payment_intent_id=stripe_gateway.id_of(intent_id) or None)
        Topup.objects.filter(pk=topup.pk).update(status=Topup.Status.FAILED, failure_reason=str(exc.user_message or exc)[:500])
        hooks.emit(PaymentFailed(
            tenant_id=account.tenant_id, topup_id=topup.pk, amount_cents=amount, reason=str(exc.user_message or exc),
        ))
        return Topup.objects.get(pk=topup.pk)
    except stripe.StripeError as exc:
        Topup.objects.filter(pk=topup.pk).update(status=Topup.Status.FAILED, failure_reason=f"provider error: {exc}"[:500])
        return Topup.objects.get(pk=topup.pk)
    Topup.objects.filter(pk=topup.pk).update(stripe_payment_intent_id=intent.id)
    if intent.status == "succeeded":
        complete_topup(
            payment_intent_id=intent.id, amount_cents=int(intent.amount),
            charge_id=stripe_gateway.id_of(getattr(intent, "latest_charge", None)),
        )
    return Topup.objects.get(pk=topup.pk)


# --- invoices settled by the balance ---------------------------------------------------------


def settle_open_invoices(account: BillingAccount) -> int:
    """Mark open/overdue invoices paid once the (locked) balance is no longer negative."""
    if account.balance_cents < 0:
        return 0
    now = timezone.now()
    return Invoice.objects.filter(
        account=account, status__in=[Invoice.Status.OPEN, Invoice.Status.OVERDUE]
    ).update(status=Invoice.Status.PAID, paid_at=now)


# --- Stripe event routing -------------------------------------------------------------------


def tenant_for_stripe_event(event: dict[str, Any]) -> Tenant | None:
    """The tenant a Stripe event belongs to: ``metadata.tenant`` (slug) or the Stripe customer id."""
    obj = (event.get("data") or {}).get("object") or {}
    slug = (obj.get("metadata") or {}).get("tenant")
    if slug:
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is not None:
            return tenant
    customer = obj.get("id") if obj.get("object") == "customer" else stripe_gateway.id_of(obj.get("customer"))
    if customer:
        account = BillingAccount.objects.filter(stripe_customer_id=customer).select_related("tenant").first()
        if account is not None:
            return account.tenant
    return None
