"""Dispatch of stored events: the Redis flag, the dispatcher's claims, and their races (real commits).

The Celery publishes go to the real broker (the test Redis) and are read back from its queues,
where no worker consumes them; test_inbox_worker.py runs the same path through a live worker.
An outage is a real unreachable Redis (a port nobody listens on).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import get_public_schema_name

from integrations import services
from integrations.models import WebhookEvent
from tests.conftest import wait_for
from tests.fixtures.integrations import Broker, body, broker_unreachable, post_retell, retell_event
from tests.fixtures.proxy import InThread


class Published:
    """What reached the broker: dispatcher tasks (their queues), process_webhooks batches (their
    event ids) and the events they carry, with their queue (also single process_webhook tasks)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    def __getitem__(self, kind: str) -> list[Any]:
        if kind == "dispatchers":
            return [queue for _args, queue in self.broker.queued("integrations.dispatch_webhooks")]
        batches = [(list(args[0]), queue) for args, queue in self.broker.queued("integrations.process_webhooks")]
        if kind == "batches":
            return [ids for ids, _queue in batches]
        singles = [(args[0], queue) for args, queue in self.broker.queued("integrations.process_webhook")]
        return singles + [(event_id, queue) for ids, queue in batches for event_id in ids]


@pytest.fixture
def published(broker: Broker) -> Published:
    return Published(broker)


def deliver(call_id: str) -> int:
    response = post_retell(Client(HTTP_HOST="localhost"), body(retell_event(call_id=call_id)))
    assert response.status_code == 204
    return WebhookEvent.objects.get(event_key=f"call_ended:{call_id}").pk


def events_table() -> str:
    return f"{connection.ops.quote_name(get_public_schema_name())}.{connection.ops.quote_name(WebhookEvent._meta.db_table)}"


def waits_for_the_events_table() -> bool:
    """Another session waits for a lock on the events table (pg_locks is read afresh on every call)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = 'relation'"
            f" AND relation = '{events_table()}'::regclass AND pid <> pg_backend_pid())"
        )
        return bool(cursor.fetchone()[0])


def flag_is_raised() -> bool:
    return bool(services._flag_store().exists(services._dispatch_flag_key()))


def test_a_burst_queues_one_dispatcher_which_queues_every_event_once(published):
    ids = [deliver(f"burst{i}") for i in range(23)]

    assert (published["dispatchers"], published["events"], flag_is_raised()) == (["webhooks_high"], [], True)

    queued = services.dispatch_pending_events(batch_size=5)

    assert queued == 23
    assert published["events"] == [(event_id, "webhooks_high") for event_id in ids]
    # each claim of five goes out in batches spread over about four tasks
    assert [len(batch) for batch in published["batches"]] == [2, 2, 1] * 4 + [1, 1, 1]
    assert not flag_is_raised()
    assert not WebhookEvent.objects.filter(queued_at__isnull=True).exists()
    assert services.dispatch_pending_events() == 0  # nothing is queued twice
    assert len(published["events"]) == 23


def test_a_duplicate_delivery_does_not_ask_for_a_dispatch(published):
    deliver("twice")
    services.dispatch_pending_events()

    deliver("twice")

    assert (published["dispatchers"], flag_is_raised()) == (["webhooks_high"], False)
    assert WebhookEvent.objects.get().duplicates == 1


def test_an_event_committed_during_a_dispatch_is_not_lost(published, broker_proxy):
    first = deliver("first")
    broker_proxy.hold("LPUSH")
    dispatch = InThread(services.dispatch_pending_events, on_exit=broker_proxy.notify)
    # the dispatcher has claimed "first" (the claim is committed) and its publish waits at the broker
    broker_proxy.wait_until(lambda: len(broker_proxy.held) == 1, "the dispatcher publishes its claim")
    assert WebhookEvent.objects.get(pk=first).queued_at is not None

    late = InThread(deliver, "late", on_exit=broker_proxy.notify)
    # the late delivery committed; it either asked for a dispatcher (held at the broker too) or not
    broker_proxy.wait_until(lambda: late.done() or len(broker_proxy.held) == 2, "the late delivery is answered")
    broker_proxy.release()

    assert dispatch.result() == 1
    assert published["events"] == [(first, "webhooks_high")]
    assert published["dispatchers"] == ["webhooks_high", "webhooks_high"]  # the late event asked again
    assert services.dispatch_pending_events() == 1  # ... and the next dispatcher queues it
    assert published["events"] == [(first, "webhooks_high"), (late.result(), "webhooks_high")]


def test_an_event_committed_before_the_claim_is_claimed_by_the_running_dispatch(published):
    first = deliver("first")

    with transaction.atomic():
        late = deliver("late")  # stored; committed (and its dispatch asked for) when the block ends
        # Until then no other transaction may write the events: the dispatcher's claim waits.
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {events_table()} IN SHARE MODE")
        dispatch = InThread(services.dispatch_pending_events)
        wait_for(lambda: waits_for_the_events_table() or dispatch.done(), timeout=60,
                 what="the dispatcher waits for the events table")
        assert not dispatch.done()

    assert dispatch.result() == 2
    assert published["events"] == [(first, "webhooks_high"), (late, "webhooks_high")]
    # the flag was cleared before the claim, so the late commit asked for a dispatcher ...
    assert published["dispatchers"] == ["webhooks_high", "webhooks_high"]
    assert services.dispatch_pending_events() == 0  # ... which finds nothing left


def test_when_the_broker_refuses_the_dispatcher_the_next_delivery_asks_again(published):
    with broker_unreachable():
        deliver("one")
        assert not flag_is_raised()  # cleared again when the publish failed ...

        deliver("two")

    assert not flag_is_raised()  # ... so the second delivery tried again (and failed again)
    assert WebhookEvent.objects.filter(queued_at__isnull=True).count() == 2


def test_with_redis_down_at_receipt_the_event_is_answered_and_stored_for_the_sweeper(published, unreachable_redis):
    event_id = deliver("outage")

    assert published["dispatchers"] == []
    event = WebhookEvent.objects.get()
    assert (event.pk, event.status, event.queued_at) == (event_id, "received", None)


def test_events_the_broker_refused_mid_batch_are_left_for_the_next_dispatch(published, broker_proxy):
    ids = [deliver(f"b{i}") for i in range(4)]  # four events: four batches of one
    publishes = broker_proxy.count("LPUSH")  # the dispatcher task the first delivery asked for
    broker_proxy.cut_at("LPUSH", 3)  # Redis goes away as the third batch is published

    assert services.dispatch_pending_events() == 2

    assert (broker_proxy.cut, broker_proxy.count("LPUSH") - publishes) == (True, 2)
    assert published["events"] == [(event_id, "webhooks_high") for event_id in ids[:2]]
    assert list(WebhookEvent.objects.filter(queued_at__isnull=True).order_by("pk").values_list("pk", flat=True)) == ids[2:]
