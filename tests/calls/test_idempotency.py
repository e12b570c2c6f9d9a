from __future__ import annotations

import threading

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from calls.functions import args_hash, once_per_call
from calls.models import FunctionCallResult


def test_a_retried_request_with_the_same_arguments_replays_the_first_answer(in_salon):
    computed = []

    def book() -> dict:
        computed.append(1)
        return {"success": True, "appointment_id": len(computed)}

    first = once_per_call("call_1", "book_appointment", {"service": "Haarschnitt", "date": "morgen"}, book)
    retry = once_per_call("call_1", "book_appointment", {"date": "morgen", "service": "Haarschnitt", "call_id": "call_1"}, book)
    other_args = once_per_call("call_1", "book_appointment", {"service": "Färben", "date": "morgen"}, book)

    assert (first, retry, other_args) == (
        {"success": True, "appointment_id": 1}, {"success": True, "appointment_id": 1}, {"success": True, "appointment_id": 2},
    )
    assert FunctionCallResult.objects.count() == 2


def test_a_failed_attempt_is_not_stored_so_a_retry_tries_again(in_salon):
    def fail() -> dict:
        raise RuntimeError("slot gone")

    with pytest.raises(RuntimeError):
        once_per_call("call_1", "book_appointment", {"service": "Haarschnitt"}, fail)

    assert FunctionCallResult.objects.count() == 0
    assert once_per_call("call_1", "book_appointment", {"service": "Haarschnitt"}, lambda: {"ok": 1}) == {"ok": 1}


def test_the_arguments_hash_ignores_key_order_and_the_call_id():
    assert args_hash({"a": 1, "b": "ü"}) == args_hash({"call_id": "x", "b": "ü", "a": 1})
    assert args_hash({"a": 1}) != args_hash({"a": 2})


def test_concurrent_retries_compute_once(committed_db, salon):
    # given: two connections send the same booking at the same moment
    computed = []
    answers = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        try:
            with tenant_context(salon):
                barrier.wait()

                def book() -> dict:
                    computed.append(1)
                    threading.Event().wait(0.2)  # keep the first transaction open
                    return {"appointment_id": 42}

                answers.append(once_per_call("call_race", "book_appointment", {"slot": "14:00"}, book))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert computed == [1]
    assert answers == [{"appointment_id": 42}, {"appointment_id": 42}]
    with tenant_context(salon):
        assert FunctionCallResult.objects.count() == 1
