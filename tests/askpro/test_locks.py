"""Advisory transaction locks on names (askpro.locks), against the real PostgreSQL."""

from __future__ import annotations

import threading

from django.db import connection, transaction
from django_tenants.utils import tenant_context

from askpro.locks import advisory_key, take_names

CAP = 120  # seconds: a bound for readiness, never an expectation of speed


def test_a_lock_taken_in_a_rolled_back_savepoint_is_free_again(committed_db, salon):
    # given a lock taken inside a savepoint that is rolled back
    with tenant_context(salon), transaction.atomic():
        try:
            with transaction.atomic():
                assert take_names(["staff:1"]) is None
                raise LookupError
        except LookupError:
            pass

        # when another transaction tries it
        def other() -> None:
            try:
                with tenant_context(salon), transaction.atomic():
                    outcome.append(take_names(["staff:1"], wait=False))
            finally:
                connection.close()

        outcome: list[str | None] = []
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(timeout=CAP)

        # then it gets it while this transaction is still open
        assert outcome == [None]


def test_a_transaction_holding_a_calendar_only_tries_a_smaller_one_and_never_waits_for_it(committed_db, salon):
    # given another transaction holding the smaller of two calendar locks
    names = sorted(["staff:1", "staff:2"], key=lambda name: advisory_key(name, schema=salon.schema_name))
    smaller, larger = names
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with tenant_context(salon), transaction.atomic():
                take_names([smaller])
                holding.set()
                release.wait(timeout=600)
        finally:
            holding.set()
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=CAP)
        # when this transaction, holding the larger one, asks for the smaller one
        with tenant_context(salon), transaction.atomic():
            assert take_names([larger]) is None
            busy = take_names([smaller, larger], held=[larger])

            # then it is told the smaller one is busy instead of waiting out of order
            assert busy == smaller
    finally:
        release.set()
        holder.join(timeout=CAP)
