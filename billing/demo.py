"""Demo billing data: plans, bonus tiers, a reseller, funded accounts with a few charged calls."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from billing import services
from billing.models import BillingAccount, BonusTier, PricingPlan, Reseller, Transaction
from tenants.models import Tenant


def seed_platform() -> None:
    PricingPlan.objects.get_or_create(
        name="Standard",
        defaults={"price_per_minute_cents": 29, "billing_increment": "per_second", "is_default": True},
    )
    PricingPlan.objects.get_or_create(
        name="Komfort",
        defaults={"price_per_minute_cents": 25, "billing_increment": "per_second", "monthly_base_fee_cents": 1900,
                  "included_minutes": 60, "booking_fee_cents": 50},
    )
    for name, minimum, percentage in (("Starter", 10000, 5), ("Pro", 50000, 10), ("Business", 100000, 15)):
        BonusTier.objects.get_or_create(name=name, defaults={"min_topup_cents": minimum, "percentage": percentage})
    Reseller.objects.get_or_create(name="Vertriebspartner Nord", defaults={"commission_rate": "0.2000", "email": "partner@nord.example"})


def seed_tenant(tenant: Tenant) -> None:
    account = services.ensure_account(tenant)
    if tenant.slug == "salon-schmidt":
        BillingAccount.objects.filter(pk=account.pk).update(
            plan=PricingPlan.objects.get(name="Komfort"), company_name="Salon Schmidt GmbH",
            street="Hauptstraße 5", postal_code="10115", city="Berlin", billing_email="rechnung@salon-schmidt.example",
            reseller=Reseller.objects.filter(name="Vertriebspartner Nord").first(),
        )
    services.post_transaction(
        account, kind=Transaction.Kind.BONUS, amount_cents=2000, idempotency_key=f"demo:welcome:{tenant.slug}",
        description="Startguthaben (Demo)",
    )
    now = timezone.now()
    for index, seconds in enumerate((95, 240, 31)):
        services.record_call_usage(
            tenant=tenant, call_id=f"demo-{tenant.slug}-{index}", duration_seconds=seconds,
            provider_cost_cents=seconds // 6, ended_at=now - timedelta(days=index + 1),
        )
