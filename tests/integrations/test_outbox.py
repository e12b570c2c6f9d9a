"""The transactional outbox (askpro.outbox): store, dispatch, retry, sweep, report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from askpro import outbox
from integrations.models import OutboxEffect, WebhookEvent
from integrations.services import stuck_events

DONE: list[dict] = []


@pytest.fixture
def recording_handler():
    """An effect handler of this test, removed afterwards."""
    DONE.clear()
    outbox.effect_handler("test.record")(DONE.append)
    yield DONE
    outbox.unregister_handler("test.record")


@pytest.fixture
def failing_handler():
    def fail(payload: dict) -> None:
        raise RuntimeError(f"refused {payload['n']}")

    outbox.effect_handler("test.fail")(fail)
    yield
    outbox.unregister_handler("test.fail")


def test_an_effect_is_stored_once_per_key_in_the_active_schema(in_salon, recording_handler):
    outbox.enqueue("test.record", key="thing:1", payload={"n": 1})
    outbox.enqueue("test.record", key="thing:1", payload={"n": 2})  # the same effect owed again

    row = OutboxEffect.objects.get()
    assert (row.handler, row.key, row.schema_name, row.payload, row.status, row.queue) == (
        "test.record", "thing:1", "salon_schmidt", {"n": 1}, "pending", "default")
    assert row.deadline_at - row.created_at == timedelta(minutes=15)


def test_an_unknown_handler_is_refused_and_nothing_is_stored(in_salon):
    with pytest.raises(LookupError):
        outbox.enqueue("test.nobody", key="x", payload={})

    assert OutboxEffect.objects.count() == 0


def test_the_dispatcher_delivers_each_stored_effect_once(in_salon, recording_handler, celery_eager):
    for n in range(3):
        outbox.enqueue("test.record", key=f"thing:{n}", payload={"n": n})

    first = outbox.dispatch_pending()
    second = outbox.dispatch_pending()

    assert (first, second) == (3, 0)
    assert DONE == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert list(OutboxEffect.objects.values_list("status", "attempts")) == [("done", 1)] * 3


def test_a_failing_effect_waits_for_its_retry_then_fails_for_an_operator(in_salon, failing_handler, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    settings.OUTBOX_RETRY_BASE_SECONDS = 30
    outbox.enqueue("test.fail", key="doomed", payload={"n": 7})
    effect_id = OutboxEffect.objects.get().pk
    now = timezone.now()

    first = outbox.process(effect_id, now=now)
    early = outbox.process(effect_id, now=now + timedelta(seconds=10))
    row = OutboxEffect.objects.get()
    waiting = (row.status, row.attempts, row.last_error, row.next_attempt_at - now)
    last = outbox.process(effect_id, now=now + timedelta(seconds=31))

    assert (first, early, last) == ("pending", "not_due", "failed")
    assert waiting == ("pending", 1, "RuntimeError: refused 7", timedelta(seconds=30))
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)
    assert list(outbox.overdue(now + timedelta(hours=1)).values_list("key", flat=True)) == ["doomed"]


def test_the_sweeper_delivers_an_effect_whose_message_was_lost(in_salon, recording_handler, celery_eager, settings):
    settings.OUTBOX_STUCK_AFTER_SECONDS = 60
    outbox.enqueue("test.record", key="lost", payload={"n": 1})
    outbox.enqueue("test.record", key="fresh", payload={"n": 2})
    # "lost" was claimed by a dispatcher ten minutes ago, its message never arrived; "fresh" was just claimed
    OutboxEffect.objects.filter(key="lost").update(queued_at=timezone.now() - timedelta(minutes=10))
    OutboxEffect.objects.filter(key="fresh").update(queued_at=timezone.now())

    swept = outbox.sweep()

    assert swept == 1
    assert DONE == [{"n": 1}]
    assert dict(OutboxEffect.objects.values_list("key", "status")) == {"lost": "done", "fresh": "pending"}


def test_a_webhook_left_processing_by_a_killed_worker_is_stuck_at_once_unless_its_lock_is_held(db, settings):
    from integrations.inbox import _LOCK_NAMESPACE

    settings.WEBHOOK_STUCK_AFTER_SECONDS = 60
    started = timezone.now() - timedelta(minutes=5)  # well before the task time limit runs out
    orphaned, working = (
        WebhookEvent.objects.create(provider="retell", event_key=key, raw_body=b"{}", payload={},
                                    status="processing", processing_started_at=started)
        for key in ("orphaned", "working")
    )
    other = connection.get_new_connection(connection.get_connection_params())  # a live worker's session
    try:
        other.autocommit = True
        other.execute("SELECT pg_advisory_lock(%s)", [_LOCK_NAMESPACE | working.pk])

        stuck = list(stuck_events().values_list("event_key", flat=True))
    finally:
        other.close()

    assert stuck == ["orphaned"]
