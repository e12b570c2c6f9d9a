from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.db import connections

from billing import services
from billing.errors import InvalidAmount, UsageConflict
from billing.models import BillingAccount, PlatformCost, PricingPlan, Transaction, UsageRecord
from tenants.models import Tenant
from tests.fixtures.billing import fund, make_account

ENDED = datetime(2026, 10, 14, 9, 30, tzinfo=UTC)


def charge(tenant, call_id, seconds, cost=0, ended_at=ENDED):
    return services.record_call_usage(
        tenant=tenant, call_id=call_id, duration_seconds=seconds, provider_cost_cents=cost, ended_at=ended_at
    )


def test_a_call_is_charged_per_second_with_19_percent_vat(salon, salon_account):
    # when a 95 s call at 30 ct/min: 47.5 ct net -> 48 ct, VAT 9.12 -> 9 ct
    record = charge(salon, "call_a", 95, cost=21)

    # then
    assert (record.billed_seconds, record.net_cents, record.vat_cents, record.amount_cents) == (95, 48, 9, 57)
    salon_account.refresh_from_db()
    assert salon_account.balance_cents == -57
    assert record.transaction.kind == "usage"
    assert record.transaction.amount_cents == -57
    cost = PlatformCost.objects.get(reference="call_a")
    assert (cost.service_type, cost.cost_cents, cost.quantity, cost.period.isoformat()) == ("retell", 21, 95, "2026-10-01")


def test_a_call_on_a_per_started_minute_plan_is_rounded_up_to_whole_minutes(salon, standard_plan):
    # given
    plan = PricingPlan.objects.create(name="Minute", price_per_minute_cents=39, billing_increment="per_started_minute")
    make_account(salon, plan)

    # when 61 s -> 2 started minutes
    record = charge(salon, "call_m", 61)

    # then 78 ct net + 14.82 -> 15 ct VAT
    assert (record.billed_seconds, record.net_cents, record.vat_cents, record.amount_cents) == (120, 78, 15, 93)


def test_included_minutes_are_used_first_and_then_charged(salon, standard_plan):
    # given 2 free minutes per month
    plan = PricingPlan.objects.create(name="Incl", price_per_minute_cents=60, included_minutes=2)
    make_account(salon, plan)

    # when
    first = charge(salon, "c1", 90)
    second = charge(salon, "c2", 90)  # 30 s free, 60 s charged
    third = charge(salon, "c3", 10)
    next_month = charge(salon, "c4", 60, ended_at=datetime(2026, 11, 2, 10, tzinfo=UTC))

    # then
    assert [(r.included_seconds, r.net_cents) for r in (first, second, third, next_month)] == [
        (90, 0), (30, 60), (0, 10), (60, 0)
    ]


def test_a_reverse_charge_customer_pays_no_german_vat(salon, standard_plan):
    # given an Austrian business with a verified VAT id
    make_account(salon, standard_plan, country="AT", vat_id="ATU12345678", vat_id_verified=True)

    # when
    record = charge(salon, "call_rc", 120)

    # then
    assert (record.net_cents, record.vat_cents, record.amount_cents) == (60, 0, 60)


def test_an_unverified_foreign_vat_id_is_still_charged_german_vat(salon, standard_plan):
    make_account(salon, standard_plan, country="AT", vat_id="ATU12345678", vat_id_verified=False)

    record = charge(salon, "call_nv", 120)

    assert (record.net_cents, record.vat_cents) == (60, 11)


def test_a_duplicated_usage_event_charges_once(salon, salon_account):
    # when the same call is reported three times
    first = charge(salon, "call_dup", 60, cost=12)
    second = charge(salon, "call_dup", 60, cost=12)
    third = charge(salon, "call_dup", 600, cost=99)  # even with other numbers

    # then
    assert first.pk == second.pk == third.pk
    assert UsageRecord.objects.count() == 1
    assert Transaction.objects.filter(kind="usage").count() == 1
    assert PlatformCost.objects.count() == 1
    salon_account.refresh_from_db()
    assert salon_account.balance_cents == -36


def test_a_call_id_of_another_tenant_is_refused_and_changes_nothing(salon, physio, salon_account, physio_account):
    # given
    charge(salon, "call_x", 60)

    # when / then
    with pytest.raises(UsageConflict):
        charge(physio, "call_x", 60)
    physio_account.refresh_from_db()
    assert physio_account.balance_cents == 0
    assert UsageRecord.objects.filter(account=physio_account).count() == 0


def test_bad_usage_input_is_refused(salon, salon_account):
    with pytest.raises(InvalidAmount):
        charge(salon, "", 60)
    with pytest.raises(InvalidAmount):
        charge(salon, "c", -1)
    with pytest.raises(InvalidAmount):
        charge(salon, "c", 60, ended_at=datetime(2026, 10, 1, 12))  # naive
    assert UsageRecord.objects.count() == 0


def test_a_call_ending_just_after_midnight_berlin_on_the_first_belongs_to_the_new_month(salon, salon_account):
    # 2026-10-31 23:30 UTC is 2026-11-01 00:30 in Berlin (CET, after the DST change on 25 Oct)
    record = charge(salon, "c_nov", 60, ended_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    # 2026-09-30 22:30 UTC is 2026-10-01 00:30 in Berlin (CEST)
    record_oct = charge(salon, "c_oct", 60, ended_at=datetime(2026, 9, 30, 22, 30, tzinfo=UTC))

    assert record.period.isoformat() == "2026-11-01"
    assert record_oct.period.isoformat() == "2026-10-01"


def test_an_account_is_created_with_the_default_plan_on_the_first_call(salon, standard_plan):
    record = charge(salon, "first_call", 60)

    account = BillingAccount.objects.get(tenant=salon)
    assert account.plan == standard_plan
    assert record.account == account


def test_crossing_below_the_threshold_emits_one_low_balance_event(
    salon, salon_account, billing_events, django_capture_on_commit_callbacks
):
    # given 20 EUR and a 10 EUR threshold (default)
    with django_capture_on_commit_callbacks(execute=True):
        fund(salon_account, 2000)
        # when three calls take it below 10 EUR and further down
        charge(salon, "l1", 1200)  # 6.00 + 1.14 VAT = 7.14 -> 12.86
        charge(salon, "l2", 1200)  # -> 5.72 (crossing)
        charge(salon, "l3", 1200)  # -> -1.42 (still below: no new event)
    # then
    assert billing_events == [
        ("billing.low_balance", {"tenant_id": salon.pk, "account_id": salon_account.pk, "balance_cents": 572, "threshold_cents": 1000})
    ]

    # and after a top-up above the threshold the next crossing warns again
    billing_events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        fund(salon_account, 5000)
        charge(salon, "l4", 7200)  # 36.00 + 6.84 -> 48.58 - 42.84 = 5.74
    assert [name for name, _payload in billing_events] == ["billing.low_balance"]


def test_calls_are_rejected_once_the_credit_limit_is_used_up(salon, salon_account):
    # given a 5 EUR credit limit
    BillingAccount.objects.filter(pk=salon_account.pk).update(credit_limit_cents=500)
    fund(salon_account, 100)
    assert services.can_accept_calls(salon) == (True, "")

    # when usage takes the balance to -5.00
    services.post_transaction(salon_account, kind="usage", amount_cents=-600, idempotency_key="u")

    # then
    accepted, reason = services.can_accept_calls(salon)
    assert accepted is False
    assert "-5.00" in reason and "5.00" in reason


def test_calls_are_still_accepted_when_the_tenant_chose_not_to_reject(salon, salon_account):
    BillingAccount.objects.filter(pk=salon_account.pk).update(reject_calls_when_exhausted=False)
    services.post_transaction(salon_account, kind="usage", amount_cents=-600, idempotency_key="u")

    accepted, reason = services.can_accept_calls(salon)

    assert accepted is True
    assert reason != ""


def test_a_tenant_without_billing_account_can_accept_calls(salon):
    assert services.can_accept_calls(salon) == (True, "")


@pytest.mark.slow
def test_concurrent_duplicate_usage_events_charge_once(committed_db):
    # given
    salon = Tenant.objects.get(slug="salon-schmidt")
    plan = PricingPlan.objects.create(name="Dup", price_per_minute_cents=30)
    account = make_account(salon, plan)
    barrier = threading.Barrier(8)

    def report(_index: int) -> int:
        try:
            barrier.wait()
            return charge(salon, "call_race", 120, cost=5).pk
        finally:
            connections.close_all()

    # when
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(report, range(8)))

    # then
    assert len(ids) == 1
    account.refresh_from_db()
    assert account.balance_cents == -71  # 60 ct + 11 ct VAT
    assert Transaction.objects.filter(account=account).count() == 1


def test_a_retell_cost_in_us_cents_is_recorded_in_euro_cents_with_the_original(salon, salon_account, settings):
    # given 0.92 EUR per USD
    settings.BILLING_EUR_EXCHANGE_RATES = "USD=0.92, CHF=1.04"

    # when Retell billed 16 US cents
    services.record_call_usage(
        tenant=salon, call_id="call_usd", duration_seconds=95, provider_cost_cents=16, ended_at=ENDED,
        provider_currency="usd",
    )

    # then 16 * 0.92 = 14.72 -> 15 EUR cents count for the margin; the bill stays visible
    cost = PlatformCost.objects.get(reference="call_usd")
    assert (cost.cost_cents, cost.currency, cost.original_cost_cents, cost.original_currency) == (15, "EUR", 16, "USD")
    assert str(cost.exchange_rate) == "0.920000"


def test_a_cost_in_a_currency_without_a_rate_counts_as_zero_euro_but_keeps_the_bill(salon, salon_account, settings):
    # given
    settings.BILLING_EUR_EXCHANGE_RATES = "USD=0.92"

    # when
    record = services.record_call_usage(
        tenant=salon, call_id="call_gbp", duration_seconds=60, provider_cost_cents=12, ended_at=ENDED,
        provider_currency="GBP",
    )

    # then the call is charged all the same
    assert record.amount_cents > 0
    cost = PlatformCost.objects.get(reference="call_gbp")
    assert (cost.cost_cents, cost.original_cost_cents, cost.original_currency, cost.exchange_rate) == (0, 12, "GBP", None)


def test_exchange_rates_are_read_from_the_setting_text():
    from decimal import Decimal

    from billing.money import parse_exchange_rates, to_eur

    rates = parse_exchange_rates("USD=0.92, chf=1.04, bad, XYZ=abc, JPY=0")
    assert rates == {"USD": Decimal("0.92"), "CHF": Decimal("1.04")}
    assert to_eur(250, "EUR", rates).eur_cents == 250
    assert to_eur(250, "CHF", rates).eur_cents == 260
