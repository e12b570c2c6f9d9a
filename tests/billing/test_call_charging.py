"""Across domains: a Retell call that ends is charged once, by a real worker."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from billing.models import Transaction, UsageRecord
from calls.services import apply_call_event
from tests.conftest import wait_for
from tests.fixtures.billing import fund, make_account


def _call(event: str, **extra: object) -> dict:
    call = {
        "call_type": "phone_call", "call_id": "call_charge_1", "agent_id": "agent_x",
        "direction": "inbound", "from_number": "+4915112345678", "to_number": "+493012345678",
        "start_timestamp": 1767200000000, **extra,
    }
    return {"event": event, "call": call}


def test_an_ended_call_is_charged_exactly_once_through_the_worker(live_worker, salon, standard_plan):
    # given a funded salon account (30 ct per minute, per second)
    account = make_account(salon, standard_plan)
    fund(account, 5000, key="charge-test-fund")

    # when the call ends (and Retell repeats the event)
    ended = _call("call_ended", end_timestamp=1767200090000, duration_ms=90000,
                  disconnection_reason="user_hangup", call_cost={"combined_cost": 12.4})
    with tenant_context(salon):
        apply_call_event(_call("call_started"))
        apply_call_event(ended)
        apply_call_event(ended)

    # then one usage record is charged: 90 s at 30 ct/min = 45 ct net, plus 19 % VAT
    usage = wait_for(lambda: UsageRecord.objects.filter(call_id="call_charge_1").first(), timeout=30)
    assert (usage.duration_seconds, usage.net_cents, usage.amount_cents) == (90, 45, 54)
    assert Transaction.objects.filter(account=account, kind="usage").count() == 1
    account.refresh_from_db()
    assert account.balance_cents == 5000 - 54
