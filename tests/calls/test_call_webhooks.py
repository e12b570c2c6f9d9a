"""Retell call webhooks through the real inbox: signed delivery to /webhooks/retell, storage,
tenant resolution, processing by calls.webhook_handlers, in any order and repeated."""

from __future__ import annotations

import random

import pytest
from django_tenants.utils import tenant_context

from calls.events import CallEnded
from calls.models import Call
from integrations.inbox import process_event
from integrations.models import WebhookEvent
from tests.calls.test_call_events import final_state, payloads
from tests.fixtures.calls import SALON_NUMBER, call_object
from tests.fixtures.hooks import DeliveredEvents
from tests.fixtures.integrations import body, post_retell

USAGE = DeliveredEvents()


@pytest.fixture(autouse=True)
def _record_usage(listen):
    USAGE.seen = listen(CallEnded)


def deliver(client, payload: dict) -> int:
    response = post_retell(client, body(payload))
    assert response.status_code == 204
    return response.status_code


def process_all(order: list[int]) -> list[str]:
    return [process_event(event_id, force=True) for event_id in order]


EXPECTED = ("ended", "agent_salon_schmidt", "Empfang", "inbound", "+4915112345678", SALON_NUMBER,
            "2025-12-31T16:53:20+00:00", "2025-12-31T16:54:55+00:00", 95000, "agent_hangup",
            "Agent: Salon Schmidt, guten Tag.\nUser: Ich möchte einen Haarschnitt.", 2, "https://retell.example/rec.wav",
            "Max hat einen Haarschnitt gebucht.", "Positive", True, False,
            {"appointment_booked": True, "caller_name": "Max Mustermann"}, 16, True, "Max Mustermann", "lead", 1,
            "+493011112222")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_every_event_in_shuffled_order_and_repeated_builds_one_call_and_bills_once(
        seed, salon, public_client, salon_route, django_capture_on_commit_callbacks):
    # given: every event delivered twice (Retell retries), in a shuffled order
    deliveries = [payload for payload in payloads().values() for _ in range(2)]
    random.Random(seed).shuffle(deliveries)
    for payload in deliveries:
        deliver(public_client, payload)
    stored = list(WebhookEvent.objects.order_by("?").values_list("id", flat=True))

    # when: the worker processes them in another order, and a second time
    with django_capture_on_commit_callbacks(execute=True):
        first = process_all(stored)
        again = process_all(stored)

    # then: a transfer event (it carries only the call id) that came before its call waited for a retry
    assert len(stored) == 5
    assert set(first) <= {"processed", "received"}
    assert again == ["processed"] * 5
    assert WebhookEvent.objects.filter(duplicates=1).count() == 5
    assert set(WebhookEvent.objects.values_list("tenant__slug", flat=True)) == {"salon-schmidt"}
    with tenant_context(salon):
        assert final_state(Call.objects.get()) == EXPECTED
    assert [(e.call_id, e.duration_seconds, e.provider_cost_cents) for e in USAGE] == [
        ("call_7f3c", 95, 16)]


def test_a_live_transcript_update_is_recorded_on_the_call(salon, public_client, salon_route):
    deliver(public_client, {"event": "transcript_updated",
                            "call": {**call_object("call_live"), "transcript": "Agent: Hallo."}})

    assert process_all(list(WebhookEvent.objects.values_list("id", flat=True))) == ["processed"]
    with tenant_context(salon):
        assert list(Call.objects.values_list("call_id", "status", "transcript")) == [
            ("call_live", "ongoing", "Agent: Hallo.")]


@pytest.mark.parametrize("call", [
    # an unknown agent, the dialled number in national notation
    {"agent_id": "agent_unknown", "to_number": "030 12345678", "direction": "inbound"},
    # an outbound call: our number is the calling side
    {"agent_id": "agent_unknown", "from_number": SALON_NUMBER, "to_number": "+4915112345678",
     "direction": "outbound"},
])
def test_the_tenant_of_a_webhook_comes_from_our_number_on_the_line(salon, physio, public_client, salon_route, call):
    deliver(public_client, {"event": "call_started", "call": {**call_object("call_routed"), **call}})

    assert process_all(list(WebhookEvent.objects.values_list("id", flat=True))) == ["processed"]
    assert WebhookEvent.objects.get().tenant == salon
    with tenant_context(salon):
        assert Call.objects.get().customer.phone == "+4915112345678"
    with tenant_context(physio):
        assert Call.objects.count() == 0


def test_a_call_event_nobody_can_route_is_ignored_with_the_reason(salon, public_client):
    deliver(public_client, {"event": "call_ended",
                            "call": call_object("call_lost", agent_id="agent_nobody", to_number="+4940999999")})

    assert process_all(list(WebhookEvent.objects.values_list("id", flat=True))) == ["ignored"]
    assert WebhookEvent.objects.get().last_error.startswith("call not routed to a tenant")
    with tenant_context(salon):
        assert Call.objects.count() == 0


def test_a_call_event_without_call_id_is_ignored_not_retried(salon, public_client):
    deliver(public_client, {"event": "call_ended", "call": {"agent_id": "a", "metadata": {"tenant": "salon-schmidt"}}})

    assert process_all(list(WebhookEvent.objects.values_list("id", flat=True))) == ["ignored"]
    event = WebhookEvent.objects.get()
    assert (event.attempts, event.last_error) == (1, "malformed call event: call.call_id missing")


def test_a_transfer_event_with_only_a_call_id_waits_for_its_call_and_then_lands_in_its_tenant(
        salon, physio, public_client, salon_route):
    transfer = payloads("call_transfer")["transfer_started"]
    deliver(public_client, transfer)
    transfer_id = WebhookEvent.objects.get().pk

    # when: nothing knows the call yet
    assert process_event(transfer_id) == "received"
    assert WebhookEvent.objects.get(pk=transfer_id).last_error.startswith("CallNotYetKnown")

    # and: call_started arrives, then the transfer is retried
    deliver(public_client, payloads("call_transfer")["call_started"])
    process_event(WebhookEvent.objects.exclude(pk=transfer_id).get().pk)
    assert process_event(transfer_id, force=True) == "processed"

    # then
    assert WebhookEvent.objects.get(pk=transfer_id).tenant == salon
    with tenant_context(salon):
        assert Call.objects.get(call_id="call_transfer").transfer_destination == "+493011112222"
