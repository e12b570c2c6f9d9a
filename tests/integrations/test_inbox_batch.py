"""Batch processing of stored webhook events (integrations.inbox.process_events): one claim for a
batch, each event in its own transaction, failures isolated, nothing processed twice."""

from __future__ import annotations

from integrations.inbox import process_events
from integrations.models import WebhookEvent
from tests.fixtures.integrations import body, post_retell, retell_event


def test_a_batch_processes_each_event_once_and_a_failing_handler_fails_only_its_event(public_client, register_handler):
    # given five stored events, one of which its handler cannot process
    seen: list[str] = []

    @register_handler("retell", "call_ended")
    def record(event):
        call_id = event.payload["call"]["call_id"]
        if call_id == "bad":
            raise RuntimeError("calls table locked")
        seen.append(call_id)

    for call_id in ("a", "b", "bad", "c", "d"):
        post_retell(public_client, body(retell_event(call_id=call_id)))
    ids = list(WebhookEvent.objects.order_by("pk").values_list("pk", flat=True))

    # when the batch is processed, then delivered again (a re-delivered task)
    first = process_events(ids)
    second = process_events(ids)

    # then four processed once each, the failing one waits for its retry with one attempt counted
    assert first == {"skipped": 0, "processed": 4, "received": 1}
    assert second == {"skipped": 5}
    assert seen == ["a", "b", "c", "d"]
    states = dict(WebhookEvent.objects.values_list("event_key", "status"))
    assert states == {"call_ended:a": "processed", "call_ended:b": "processed", "call_ended:bad": "received",
                      "call_ended:c": "processed", "call_ended:d": "processed"}
    bad = WebhookEvent.objects.get(event_key="call_ended:bad")
    assert (bad.attempts, bad.last_error) == (1, "RuntimeError: calls table locked")
    assert bad.next_attempt_at is not None
    assert set(WebhookEvent.objects.values_list("attempts", flat=True)) == {1}

