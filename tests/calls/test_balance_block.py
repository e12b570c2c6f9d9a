"""Balance rules enforced where calls come in: billing publishes "voice blocked" (tenants.voice),
the inbound-call webhook and the function calls answer accordingly."""

from __future__ import annotations

from django.utils import timezone
from django_tenants.utils import tenant_context

from appointments.models import Customer
from billing import services as billing
from billing.models import BillingAccount
from tests.fixtures.billing import fund
from tests.fixtures.calls import SALON_NUMBER, call_object, retell_post

INBOUND = "/webhooks/retell/inbound"
CHECK_CUSTOMER = "/api/retell/check-customer"


def _inbound(public_client):
    return retell_post(public_client, INBOUND, {
        "event": "call_inbound", "event_timestamp": 1780012672105,
        "call_inbound": {"from_number": "+4915112345678", "to_number": SALON_NUMBER},
    })


def _check_customer(public_client, call_id: str):
    return retell_post(public_client, CHECK_CUSTOMER, {
        "name": "check_customer", "args": {}, "call": call_object(call_id, to_number=SALON_NUMBER),
    })


def test_a_finished_call_past_the_credit_limit_is_charged_and_the_next_calls_are_refused_until_a_top_up(
    salon, salon_account, public_client, salon_route, retell_key
):
    # given 1,00 EUR, credit limit 0, rejecting calls when exhausted (the default)
    assert (salon_account.credit_limit_cents, salon_account.reject_calls_when_exhausted) == (0, True)
    fund(salon_account, 100)
    assert "call_inbound" in _inbound(public_client).json()
    assert "dynamic_variables" in _inbound(public_client).json()["call_inbound"]

    # when a 10-minute call ends: 300 ct net + 57 ct VAT
    billing.record_call_usage(tenant=salon, call_id="call_long", duration_seconds=600, provider_cost_cents=0,
                              ended_at=timezone.now())

    # then it is charged in full (it happened), and further calls are refused
    assert BillingAccount.objects.get(pk=salon_account.pk).balance_cents == 100 - 357
    inbound = _inbound(public_client)
    assert (inbound.status_code, inbound.json()) == (200, {"call_inbound": {"reject": True}})
    refused = _check_customer(public_client, "call_next")
    assert refused.status_code == 403
    body = refused.json()
    assert (body["success"], body["error"]["code"]) == (False, "BALANCE_EXHAUSTED")
    assert body["message"] == "Telefonische Buchungen sind gerade nicht möglich. Bitte rufen Sie später noch einmal an."
    with tenant_context(salon):
        assert Customer.objects.count() == 0

    # when topped up again
    fund(salon_account, 500)

    # then calls are answered
    assert "dynamic_variables" in _inbound(public_client).json()["call_inbound"]
    assert _check_customer(public_client, "call_after_topup").status_code == 200


def test_a_credit_limit_lets_calls_through_until_it_is_used_up(
    salon, salon_account, public_client, salon_route, retell_key
):
    # given a credit limit of 5,00 EUR and no balance
    BillingAccount.objects.filter(pk=salon_account.pk).update(credit_limit_cents=500)
    salon_account.refresh_from_db()

    # when calls use 3,57 EUR, then 3,57 EUR more
    billing.record_call_usage(tenant=salon, call_id="call_a", duration_seconds=600, provider_cost_cents=0,
                              ended_at=timezone.now())
    answered = _inbound(public_client).json()["call_inbound"]
    billing.record_call_usage(tenant=salon, call_id="call_b", duration_seconds=600, provider_cost_cents=0,
                              ended_at=timezone.now())

    # then the first left room, the second used it up
    assert "dynamic_variables" in answered
    assert BillingAccount.objects.get(pk=salon_account.pk).balance_cents == -714
    assert _inbound(public_client).json() == {"call_inbound": {"reject": True}}


def test_calls_are_still_answered_past_the_limit_when_the_account_says_so(
    salon, salon_account, public_client, salon_route, retell_key
):
    # given
    BillingAccount.objects.filter(pk=salon_account.pk).update(reject_calls_when_exhausted=False)
    salon_account.refresh_from_db()

    # when
    billing.record_call_usage(tenant=salon, call_id="call_long", duration_seconds=600, provider_cost_cents=0,
                              ended_at=timezone.now())

    # then
    assert BillingAccount.objects.get(pk=salon_account.pk).balance_cents == -357
    assert "dynamic_variables" in _inbound(public_client).json()["call_inbound"]
    assert _check_customer(public_client, "call_next").status_code == 200
