"""Top-ups and every Stripe event path: the real stripe SDK against localstripe, and events that
localstripe cannot emit built from Stripe's documented shapes and signed with the SDK. Every event
goes the production way: posted to the webhook endpoint, stored in the inbox and processed by the
worker's task (the ``stripe_webhook`` fixture)."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import requests
import stripe

from billing import services
from billing.errors import InvalidAmount, PaymentDeclined, PaymentsNotConfigured
from billing.models import BillingAccount, BonusTier, Invoice, StripeInvoice, Topup, Transaction
from integrations.models import WebhookEvent
from tests.conftest import wait_for
from tests.fixtures.billing import STRIPE_WEBHOOK_SECRET, fund


def intent(client: Any, intent_id: str) -> dict[str, Any]:
    return client.v1.payment_intents.retrieve(intent_id).to_dict()


def balance(account: BillingAccount) -> int:
    account.refresh_from_db()
    return account.balance_cents


@pytest.fixture
def tiers(db: None) -> None:
    for name, minimum, pct in (("Starter", 10000, "5"), ("Pro", 50000, "10"), ("Business", 100000, "15")):
        BonusTier.objects.create(name=name, min_topup_cents=minimum, percentage=pct)


def test_a_top_up_against_localstripe_books_amount_and_bonus_once(
    salon, salon_account, tiers, localstripe, stripe_client, billing_events, django_capture_on_commit_callbacks,
    stripe_webhook,
):
    # given a 500 EUR top-up (10 % bonus)
    started = services.start_topup(salon, amount_cents=50000, actor="boss@salon.example")
    topup = started.topup
    assert topup.status == "pending" and topup.bonus_cents == 5000
    assert started.client_secret.startswith(topup.stripe_payment_intent_id)
    customer = stripe_client.v1.customers.retrieve(BillingAccount.objects.get(pk=salon_account.pk).stripe_customer_id)
    assert customer.metadata["tenant"] == "salon-schmidt"

    # when paid (test card) and the webhook arrives as well
    with django_capture_on_commit_callbacks(execute=True):
        services.pay_topup_with_test_card(topup)
        outcome = stripe_webhook("payment_intent.succeeded", intent(stripe_client, topup.stripe_payment_intent_id))

    # then
    assert outcome == "processed"
    topup.refresh_from_db()
    assert topup.status == "succeeded"
    assert topup.stripe_charge_id.startswith("ch_")
    assert balance(salon_account) == 55000
    assert list(Transaction.objects.order_by("id").values_list("kind", "amount_cents", "actor")) == [
        ("topup", 50000, "boss@salon.example"), ("bonus", 5000, "boss@salon.example")
    ]
    assert [name for name, _payload in billing_events] == ["billing.topup_completed"]
    assert billing_events[0][1]["amount_cents"] == 50000


def test_the_customer_is_created_once_per_account(salon, salon_account, localstripe):
    services.start_topup(salon, amount_cents=1000, actor="a")
    services.start_topup(salon, amount_cents=2500, actor="a")

    assert Topup.objects.values("account__stripe_customer_id").distinct().count() == 1


def test_top_up_amounts_outside_the_limits_are_refused(salon, salon_account, localstripe):
    with pytest.raises(InvalidAmount):
        services.start_topup(salon, amount_cents=999, actor="a")
    with pytest.raises(InvalidAmount):
        services.start_topup(salon, amount_cents=500001, actor="a")
    assert Topup.objects.count() == 0


def test_without_stripe_configuration_a_top_up_is_refused_clearly(salon, salon_account, settings):
    settings.STRIPE_API_KEY = ""
    settings.STRIPE_API_BASE = ""

    with pytest.raises(PaymentsNotConfigured):
        services.start_topup(salon, amount_cents=1000, actor="a")
    assert Topup.objects.count() == 0


def test_a_declined_payment_marks_the_top_up_failed_with_the_reason(
    salon, salon_account, localstripe, stripe_client, billing_events, django_capture_on_commit_callbacks,
    stripe_webhook,
):
    # given a top-up paid with a card that is declined on charge
    topup = services.start_topup(salon, amount_cents=2500, actor="a").topup
    intent = stripe_client.v1.payment_intents.create(params={
        "amount": 2500, "currency": "eur", "customer": BillingAccount.objects.get(pk=salon_account.pk).stripe_customer_id,
        "payment_method": "pm_card_chargeCustomerFail", "payment_method_types": ["card"],
    })
    Topup.objects.filter(pk=topup.pk).update(stripe_payment_intent_id=intent.id)
    with pytest.raises(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(intent.id)

    # when the failure event arrives
    with django_capture_on_commit_callbacks(execute=True):
        stripe_webhook("payment_intent.payment_failed", {
            **stripe_client.v1.payment_intents.retrieve(intent.id).to_dict(),
            "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
        })

    # then
    topup.refresh_from_db()
    assert (topup.status, topup.failure_reason) == ("failed", "Your card was declined.")
    assert balance(salon_account) == 0
    assert billing_events == [("billing.payment_failed", {
        "tenant_id": salon.pk, "topup_id": topup.pk, "amount_cents": 2500, "reason": "Your card was declined."
    })]


def test_a_late_failure_after_success_changes_nothing(salon, salon_account, localstripe, stripe_client, stripe_webhook):
    # given
    topup = services.start_topup(salon, amount_cents=2500, actor="a").topup
    services.pay_topup_with_test_card(topup)
    succeeded = intent(stripe_client, topup.stripe_payment_intent_id)

    # when the events arrive failure-last, and success twice (two deliveries of the same intent)
    stripe_webhook("payment_intent.payment_failed", {**succeeded, "status": "requires_payment_method"})
    stripe_webhook("payment_intent.succeeded", succeeded)
    stripe_webhook("payment_intent.succeeded", succeeded)

    # then
    topup.refresh_from_db()
    assert (topup.status, topup.failure_reason) == ("succeeded", "")
    assert balance(salon_account) == 2500
    assert Transaction.objects.count() == 1


def test_a_success_after_an_earlier_failed_attempt_completes_the_top_up(salon, salon_account, localstripe, stripe_client):
    topup = services.start_topup(salon, amount_cents=2500, actor="a").topup
    services.fail_topup(payment_intent_id=topup.stripe_payment_intent_id, reason="declined")

    services.pay_topup_with_test_card(topup)

    topup.refresh_from_db()
    assert topup.status == "succeeded"
    assert balance(salon_account) == 2500


def test_a_partial_refund_books_a_proportional_reversal_of_amount_and_bonus(
    salon, salon_account, tiers, localstripe, stripe_client, stripe_webhook
):
    # given a paid 100 EUR top-up with 5 EUR bonus
    topup = services.pay_topup_with_test_card(services.start_topup(salon, amount_cents=10000, actor="a").topup)
    assert balance(salon_account) == 10500

    # when 40 EUR are refunded in localstripe and charge.refunded arrives (twice)
    stripe_client.v1.refunds.create(params={"payment_intent": topup.stripe_payment_intent_id, "amount": 4000})
    charge = stripe_client.v1.charges.retrieve(topup.stripe_charge_id).to_dict()
    assert charge["amount_refunded"] == 4000
    stripe_webhook("charge.refunded", charge)
    stripe_webhook("charge.refunded", charge)

    # then
    assert balance(salon_account) == 10500 - 4000 - 200
    assert list(Transaction.objects.filter(kind="reversal").order_by("id").values_list("amount_cents", flat=True)) == [-4000, -200]

    # and a second refund of the rest reverses only the difference
    stripe_client.v1.refunds.create(params={"payment_intent": topup.stripe_payment_intent_id, "amount": 6000})
    stripe_webhook("charge.refunded", stripe_client.v1.charges.retrieve(topup.stripe_charge_id).to_dict())
    assert balance(salon_account) == 0


def test_a_refund_arriving_before_the_success_event_completes_then_reverses(salon, salon_account, localstripe, stripe_client, stripe_webhook):
    # given a paid intent whose succeeded webhook has not been processed
    topup = services.start_topup(salon, amount_cents=3000, actor="a").topup
    stripe_client.v1.payment_intents.confirm(topup.stripe_payment_intent_id)
    stripe_client.v1.refunds.create(params={"payment_intent": topup.stripe_payment_intent_id})
    paid = intent(stripe_client, topup.stripe_payment_intent_id)
    charge_id = paid["latest_charge"]["id"]

    # when charge.refunded comes first, then payment_intent.succeeded
    stripe_webhook("charge.refunded", stripe_client.v1.charges.retrieve(charge_id).to_dict())
    stripe_webhook("payment_intent.succeeded", paid)

    # then
    assert balance(salon_account) == 0
    assert list(Transaction.objects.order_by("id").values_list("kind", "amount_cents")) == [("topup", 3000), ("reversal", -3000)]


def test_checkout_completion_credits_once_and_waits_for_delayed_payments(salon, salon_account, stripe_webhook):
    # given a Checkout top-up (real Stripe only, so the session is built from Stripe's documented shape)
    topup = Topup.objects.create(account=salon_account, amount_cents=2500, stripe_checkout_session_id="cs_test_1")
    session = {
        "id": "cs_test_1", "object": "checkout.session", "mode": "payment", "payment_status": "unpaid",
        "status": "complete", "amount_total": 2500, "currency": "eur", "customer": "cus_x",
        "payment_intent": "pi_checkout_1", "metadata": {"tenant": "salon-schmidt", "topup_id": str(topup.pk)},
    }

    # when a SEPA payment completes the session unpaid
    stripe_webhook("checkout.session.completed", session)
    # then nothing is credited yet
    topup.refresh_from_db()
    assert (topup.status, topup.stripe_payment_intent_id) == ("pending", "pi_checkout_1")
    assert balance(salon_account) == 0

    # when the async payment succeeds (and Stripe also sends payment_intent.succeeded)
    stripe_webhook("checkout.session.async_payment_succeeded", {**session, "payment_status": "paid"})
    stripe_webhook("payment_intent.succeeded", {
        "id": "pi_checkout_1", "object": "payment_intent", "amount": 2500, "amount_received": 2500,
        "status": "succeeded", "latest_charge": "ch_checkout_1", "metadata": session["metadata"],
    })

    # then
    topup.refresh_from_db()
    assert topup.status == "succeeded"
    assert balance(salon_account) == 2500


def test_stripe_invoice_events_are_mirrored_and_never_move_back(salon, salon_account, billing_events, django_capture_on_commit_callbacks, stripe_webhook):
    BillingAccount.objects.filter(pk=salon_account.pk).update(stripe_customer_id="cus_inv")
    invoice = {
        "id": "in_1", "object": "invoice", "customer": "cus_inv", "number": "ABC-0001", "status": "open",
        "amount_due": 4900, "amount_paid": 0, "currency": "eur", "attempt_count": 1,
        "hosted_invoice_url": "https://invoice.stripe.com/i/in_1",
    }

    with django_capture_on_commit_callbacks(execute=True):
        stripe_webhook("invoice.finalized", invoice)
        stripe_webhook("invoice.payment_failed", {**invoice, "attempt_count": 2})
    mirror = StripeInvoice.objects.get(stripe_id="in_1")
    assert (mirror.status, mirror.attempt_count, mirror.account_id) == ("open", 2, salon_account.pk)
    assert [name for name, _p in billing_events] == ["billing.payment_failed"]

    stripe_webhook("invoice.paid", {**invoice, "status": "paid", "amount_paid": 4900})
    stripe_webhook("invoice.finalized", invoice)  # late
    stripe_webhook("invoice.voided", {**invoice, "status": "void"})  # after paid: ignored
    mirror.refresh_from_db()
    assert (mirror.status, mirror.amount_paid_cents) == ("paid", 4900)

    stripe_webhook("invoice.marked_uncollectible", {**invoice, "id": "in_2", "status": "uncollectible"})
    assert StripeInvoice.objects.get(stripe_id="in_2").status == "uncollectible"


def test_an_askpro_invoice_collected_through_stripe_follows_its_stripe_twin(salon, salon_account, stripe_webhook):
    BillingAccount.objects.filter(pk=salon_account.pk).update(stripe_customer_id="cus_twin")
    ours = Invoice.objects.create(
        account=salon_account, number="AP-2026-000001", status="open", period="2026-10-01",
        service_start="2026-10-01", service_end="2026-10-31", gross_cents=1190, amount_due_cents=1190,
        stripe_invoice_id="in_twin",
    )

    stripe_webhook("invoice.paid", {"id": "in_twin", "object": "invoice", "status": "paid", "customer": "cus_twin"})

    ours.refresh_from_db()
    assert ours.status == "paid" and ours.paid_at is not None


def test_subscription_status_is_kept_and_a_late_update_does_not_revive_a_deleted_one(salon, salon_account, stripe_webhook):
    BillingAccount.objects.filter(pk=salon_account.pk).update(stripe_customer_id="cus_sub")
    sub = {"id": "sub_1", "object": "subscription", "customer": "cus_sub", "status": "active"}

    stripe_webhook("customer.subscription.updated", {**sub, "status": "past_due"})
    salon_account.refresh_from_db()
    assert (salon_account.stripe_subscription_id, salon_account.stripe_subscription_status) == ("sub_1", "past_due")

    stripe_webhook("customer.subscription.deleted", {**sub, "status": "canceled"})
    stripe_webhook("customer.subscription.updated", sub)  # delivered late
    salon_account.refresh_from_db()
    assert salon_account.stripe_subscription_status == "canceled"


def test_unknown_event_types_are_ignored(salon_account, stripe_webhook):
    outcome = stripe_webhook("payout.paid", {"id": "po_1", "object": "payout"})

    assert outcome == "ignored"
    assert Transaction.objects.count() == 0


def test_the_tenant_of_an_event_is_found_by_metadata_or_customer(salon, physio, salon_account, stripe_webhook):
    BillingAccount.objects.filter(pk=salon_account.pk).update(stripe_customer_id="cus_salon")

    stripe_webhook("payment_intent.created", {"id": "pi_1", "object": "payment_intent", "metadata": {"tenant": "physio-nord"}, "customer": "cus_salon"})
    stripe_webhook("charge.updated", {"id": "ch_1", "object": "charge", "customer": "cus_salon", "metadata": {}})
    stripe_webhook("customer.updated", {"id": "cus_salon", "object": "customer"})
    stripe_webhook("charge.updated", {"id": "ch_2", "object": "charge", "customer": "cus_unknown"})

    assert [event.tenant for event in WebhookEvent.objects.order_by("id")] == [physio, salon, salon, None]


def test_an_auto_top_up_charges_the_saved_card_when_the_balance_falls_below_its_threshold(
    salon, salon_account, localstripe, stripe_client
):
    # given a saved card and auto top-up of 50 EUR below 10 EUR
    customer_id = services.ensure_stripe_customer(salon_account)
    stripe_client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer_id})
    BillingAccount.objects.filter(pk=salon_account.pk).update(
        auto_topup_enabled=True, stripe_payment_method_id="pm_card_visa",
        auto_topup_threshold_cents=1000, auto_topup_amount_cents=5000,
    )
    fund(salon_account, 500)

    # when the (queued) task runs twice
    first = services.run_auto_topup(salon_account.pk)
    second = services.run_auto_topup(salon_account.pk)

    # then
    assert (first.status, first.source, first.amount_cents) == ("succeeded", "auto", 5000)
    assert second is None  # the balance is above the threshold now
    assert balance(salon_account) == 5500


def test_a_declined_auto_top_up_is_not_retried_during_the_cool_off(
    salon, salon_account, localstripe, stripe_client, billing_events, django_capture_on_commit_callbacks
):
    services.ensure_stripe_customer(salon_account)
    BillingAccount.objects.filter(pk=salon_account.pk).update(
        auto_topup_enabled=True, stripe_payment_method_id="pm_card_chargeCustomerFail",
    )

    with django_capture_on_commit_callbacks(execute=True):
        first = services.run_auto_topup(salon_account.pk)
    second = services.run_auto_topup(salon_account.pk)

    assert first.status == "failed" and "declined" in first.failure_reason
    assert second is None
    assert Topup.objects.count() == 1
    assert balance(salon_account) == 0
    assert [name for name, _p in billing_events] == ["billing.payment_failed"]


def test_a_declined_test_card_payment_reports_the_decline(salon, salon_account, localstripe, stripe_client):
    topup = services.start_topup(salon, amount_cents=1000, actor="a").topup
    intent = stripe_client.v1.payment_intents.create(params={
        "amount": 1000, "currency": "eur", "customer": BillingAccount.objects.get(pk=salon_account.pk).stripe_customer_id,
        "payment_method": "pm_card_chargeCustomerFail", "payment_method_types": ["card"],
    })
    Topup.objects.filter(pk=topup.pk).update(stripe_payment_intent_id=intent.id)
    topup.refresh_from_db()

    with pytest.raises(PaymentDeclined):
        services.pay_topup_with_test_card(topup)
    topup.refresh_from_db()
    assert topup.status == "failed"


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[bytes, str]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers.get("Stripe-Signature", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.slow
def test_a_webhook_signed_and_delivered_by_localstripe_completes_the_top_up(
    salon, salon_account, localstripe, stripe_client, stripe_webhook
):
    # given a live receiver registered as localstripe's webhook endpoint
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received.clear()
    httpx.post(f"{localstripe}/_config/webhooks/askpro-test", json={
        "url": f"http://127.0.0.1:{server.server_address[1]}/stripe", "secret": STRIPE_WEBHOOK_SECRET,
        "events": ["payment_intent.succeeded"],
    }).raise_for_status()
    try:
        topup = services.start_topup(salon, amount_cents=2500, actor="a").topup

        # when paid in localstripe, which signs and posts payment_intent.succeeded ~1 s later
        stripe_client.v1.payment_intents.confirm(topup.stripe_payment_intent_id)
        body, signature = wait_for(lambda: next((
            item for item in _Receiver.received if topup.stripe_payment_intent_id.encode() in item[0]
        ), None), timeout=10)

        # then the delivery, posted to our endpoint as received, verifies and completes the top-up
        assert stripe_webhook.post(body, signature) == "processed"
        assert WebhookEvent.objects.get().event_type == "payment_intent.succeeded"
        topup.refresh_from_db()
        assert topup.status == "succeeded"
        assert balance(salon_account) == 2500
    finally:
        httpx.post(f"{localstripe}/_config/webhooks/askpro-test", json={"url": "http://127.0.0.1:9/", "secret": STRIPE_WEBHOOK_SECRET, "events": ["none.none"]})
        server.shutdown()


class _StripeApi(requests.adapters.BaseAdapter):
    """Stripe's API at the HTTP boundary: the SDK's requests transport to api.stripe.com ends here.
    Records the form parameters of each ``POST /v1/payment_intents`` and answers like Stripe does."""

    def __init__(self) -> None:
        super().__init__()
        self.params: list[dict[str, str]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.request, response.url = request, request.url
        response.headers["Content-Type"] = "application/json"
        if request.method == "POST" and urlsplit(request.url).path == "/v1/payment_intents":
            params = dict(parse_qsl(str(request.body or "")))
            self.params.append(params)
            response.status_code = 200
            response._content = json.dumps({
                "id": "pi_recorded", "object": "payment_intent", "status": "processing",
                "amount": int(params["amount"]), "currency": params["currency"], "client_secret": "pi_recorded_secret_x",
            }).encode()
        else:
            response.status_code = 404
            response._content = json.dumps({"error": {"type": "invalid_request_error", "message": "not faked"}}).encode()
        return response

    def close(self) -> None:
        pass


@pytest.fixture
def real_stripe(settings: Any, monkeypatch: pytest.MonkeyPatch) -> _StripeApi:
    """Settings of the real Stripe; the SDK's HTTP requests to api.stripe.com reach a recording fake."""
    settings.STRIPE_API_KEY = "sk_test_askpro_real"
    settings.STRIPE_API_BASE = ""
    api = _StripeApi()
    get_adapter = requests.Session.get_adapter

    def route(session: requests.Session, url: str) -> requests.adapters.BaseAdapter:
        return api if url.startswith(stripe.DEFAULT_API_BASE) else get_adapter(session, url)

    monkeypatch.setattr(requests.Session, "get_adapter", route)
    return api


def test_an_auto_top_up_on_the_real_stripe_allows_cards_without_the_removed_payment_method_types(
    salon_account, real_stripe
):
    # given a saved card and auto top-up of 50 EUR below 10 EUR
    BillingAccount.objects.filter(pk=salon_account.pk).update(
        stripe_customer_id="cus_real", auto_topup_enabled=True, stripe_payment_method_id="pm_real",
        auto_topup_threshold_cents=1000, auto_topup_amount_cents=5000,
    )

    # when
    services.run_auto_topup(salon_account.pk)

    # then (API 2026-10-28.endive answers payment_method_types with a 400)
    [params] = real_stripe.params
    assert "payment_method_types[0]" not in params
    assert params["allowed_payment_method_types[0]"] == "card"
    assert (params["amount"], params["customer"], params["payment_method"]) == ("5000", "cus_real", "pm_real")


def test_a_top_up_on_the_real_stripe_without_checkout_allows_cards_without_payment_method_types(
    salon, salon_account, real_stripe
):
    # given an account that already has a Stripe customer
    BillingAccount.objects.filter(pk=salon_account.pk).update(stripe_customer_id="cus_real")

    # when no success URL is given (no Checkout)
    started = services.start_topup(salon, amount_cents=5000, actor="boss@salon.example")

    # then
    [params] = real_stripe.params
    assert "payment_method_types[0]" not in params
    assert params["allowed_payment_method_types[0]"] == "card"
    assert "payment_method" not in params  # the test card is for localstripe only
    assert started.client_secret == "pi_recorded_secret_x"


@pytest.mark.parametrize("event_type, obj", [
    ("customer.subscription.updated", {"id": "sub_x", "object": "subscription", "customer": "cus_unknown", "status": "active"}),
    ("invoice.paid", {"id": "in_x", "object": "invoice", "customer": "cus_unknown", "status": "paid", "amount_due": 500}),
    ("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent", "customer": "cus_unknown", "amount": 500}),
])
def test_events_of_unknown_stripe_customers_end_ignored_with_the_reason(salon_account, stripe_webhook, event_type, obj):
    outcome = stripe_webhook(event_type, obj)

    event = WebhookEvent.objects.get()
    assert (outcome, event.status, event.tenant) == ("ignored", "ignored", None)
    assert event.last_error == "unknown Stripe customer cus_unknown (no billing account, no tenant metadata)"
    assert (StripeInvoice.objects.count(), Transaction.objects.count()) == (0, 0)


def test_an_event_of_a_known_customer_is_still_processed(salon_account, stripe_webhook):
    BillingAccount.objects.filter(pk=salon_account.pk).update(stripe_customer_id="cus_salon")

    outcome = stripe_webhook("customer.subscription.updated",
                             {"id": "sub_s", "object": "subscription", "customer": "cus_salon", "status": "active"})

    assert outcome == "processed"
    salon_account.refresh_from_db()
    assert (salon_account.stripe_subscription_id, salon_account.stripe_subscription_status) == ("sub_s", "active")
