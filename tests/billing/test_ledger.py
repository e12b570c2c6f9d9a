from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import Sum

from billing import queries, services
from billing.errors import InvalidAmount
from billing.models import BillingAccount, PricingPlan, Transaction
from tenants.models import Tenant
from tests.fixtures.billing import fund, make_account


def test_a_transaction_moves_the_balance_and_records_the_balance_after(salon_account):
    # when
    first = fund(salon_account, 5000, key="t1")
    second = services.post_transaction(salon_account, kind="usage", amount_cents=-1234, idempotency_key="t2")

    # then
    salon_account.refresh_from_db()
    assert salon_account.balance_cents == 3766
    assert (first.balance_after_cents, second.balance_after_cents) == (5000, 3766)


def test_the_same_idempotency_key_books_once(salon_account):
    # when
    first = fund(salon_account, 5000, key="stripe:pi_1")
    again = fund(salon_account, 5000, key="stripe:pi_1")

    # then
    assert again.pk == first.pk
    salon_account.refresh_from_db()
    assert salon_account.balance_cents == 5000
    assert Transaction.objects.filter(account=salon_account).count() == 1


def test_the_ledger_refuses_updates_and_deletes_even_in_raw_sql(salon_account):
    # given
    txn = fund(salon_account, 5000)

    # when / then
    with pytest.raises(ValueError):
        txn.save()
    with pytest.raises(ValueError):
        txn.delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE billing_transaction SET amount_cents = 1 WHERE id = %s", [txn.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_transaction WHERE id = %s", [txn.pk])
    assert Transaction.objects.get(pk=txn.pk).amount_cents == 5000


def test_an_adjustment_needs_a_reason_and_a_non_zero_amount(salon, salon_account):
    # when / then
    with pytest.raises(InvalidAmount):
        services.adjust_balance(salon, amount_cents=500, reason="  ", actor="op@askpro.example")
    with pytest.raises(InvalidAmount):
        services.adjust_balance(salon, amount_cents=0, reason="Kulanz", actor="op@askpro.example")
    assert Transaction.objects.count() == 0

    txn = services.adjust_balance(salon, amount_cents=-250, reason="Kulanz zurückgenommen", actor="op@askpro.example")
    assert (txn.kind, txn.amount_cents, txn.actor, txn.description) == (
        "adjustment", -250, "op@askpro.example", "Kulanz zurückgenommen"
    )


def test_the_invariant_check_finds_an_account_whose_balance_drifted(salon_account, physio_account):
    # given
    fund(salon_account, 1000)
    fund(physio_account, 2000)
    assert queries.ledger_mismatches() == []

    # when a balance is changed behind the ledger's back
    BillingAccount.objects.filter(pk=physio_account.pk).update(balance_cents=1999)

    # then
    assert queries.ledger_mismatches() == [(physio_account.pk, 1999, 2000)]


@pytest.mark.slow
def test_fifty_concurrent_charges_and_top_ups_keep_balance_equal_to_the_ledger(committed_db):
    # given
    salon = Tenant.objects.get(slug="salon-schmidt")
    plan = PricingPlan.objects.create(name="Concurrency", price_per_minute_cents=30)
    account = make_account(salon, plan)
    rng = random.Random(42)
    amounts = [rng.choice([-700, -130, -1, 2500, 1000, -999]) for _ in range(50)]
    start = threading.Barrier(10)

    def book(index: int) -> int:
        try:
            if index < 10:
                start.wait()
            amount = amounts[index]
            kind = "topup" if amount > 0 else "usage"
            services.post_transaction(account, kind=kind, amount_cents=amount, idempotency_key=f"c:{index}")
            # a duplicate delivery of every fifth booking must not count twice
            if index % 5 == 0:
                services.post_transaction(account, kind=kind, amount_cents=amount, idempotency_key=f"c:{index}")
            return amount
        finally:
            connections.close_all()

    # when
    with ThreadPoolExecutor(max_workers=10) as pool:
        booked = list(pool.map(book, range(50)))

    # then
    account.refresh_from_db()
    ledger = Transaction.objects.filter(account=account)
    assert ledger.count() == 50
    assert account.balance_cents == sum(amounts) == sum(booked)
    assert ledger.aggregate(total=Sum("amount_cents"))["total"] == account.balance_cents
    # balance_after forms one unbroken chain: every update saw the previous one
    chain = list(ledger.order_by("id").values_list("amount_cents", "balance_after_cents"))
    running = 0
    for amount, after in chain:
        running += amount
        assert after == running
    assert queries.ledger_mismatches() == []
