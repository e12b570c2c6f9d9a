from __future__ import annotations

import copy
import datetime as dt
import itertools
import random
from dataclasses import asdict

import pytest

from appointments.models import Customer
from calls import services
from calls.events import CallbackEscalated, CallbackRequested, CallEnded
from calls.models import Call
from tests.fixtures.calls import call_object
from tests.fixtures.hooks import DeliveredEvents

RECEIVED = DeliveredEvents()


@pytest.fixture(autouse=True)
def _record(listen):
    RECEIVED.seen = listen(CallEnded, CallbackRequested, CallbackEscalated)


def payloads(call_id: str = "call_7f3c") -> dict[str, dict]:
    base = call_object(call_id, agent_name="Empfang")
    ended = {**base, "call_status": "ended", "end_timestamp": 1767200095000, "duration_ms": 95000,
             "disconnection_reason": "agent_hangup",
             "transcript": "Agent: Salon Schmidt, guten Tag.\nUser: Ich möchte einen Haarschnitt.",
             "transcript_object": [{"role": "agent", "content": "Salon Schmidt, guten Tag.", "words": []},
                                   {"role": "user", "content": "Ich möchte einen Haarschnitt.", "words": []}],
             "recording_url": "https://retell.example/rec.wav",
             "call_cost": {"product_costs": [{"product": "retell_platform", "cost": 11.08}], "combined_cost": 15.83,
                           "total_duration_seconds": 95}}
    analysis = {"call_summary": "Max hat einen Haarschnitt gebucht.", "user_sentiment": "Positive",
                "call_successful": True, "in_voicemail": False,
                "custom_analysis_data": {"appointment_booked": True, "caller_name": "Max Mustermann"}}
    return {
        "call_started": {"event": "call_started", "call": base},
        "transcript_early": {"event": "transcript_updated", "call": {**base, "transcript": "Agent: Salon Schmidt, guten Tag."}},
        "call_ended": {"event": "call_ended", "call": ended},
        "call_analyzed": {"event": "call_analyzed", "call": {**ended, "call_analysis": analysis}},
        "transfer_started": {"event": "transfer_started", "call": {"call_id": call_id},
                             "transfer_destination": {"number": "+493011112222"},
                             "transfer_option": {"type": "warm_transfer"}},
    }


def final_state(call: Call) -> tuple:
    return (call.status, call.agent_id, call.agent_name, call.direction, call.from_number, call.to_number,
            call.started_at.isoformat(), call.ended_at.isoformat(), call.duration_ms, call.disconnection_reason,
            call.transcript, len(call.transcript_object), call.recording_url, call.summary, call.user_sentiment,
            call.call_successful, call.in_voicemail, call.custom_analysis_data, call.cost_cents,
            call.appointment_made, call.customer.name, call.customer.journey_status, len(call.transfers),
            call.transfer_destination)


EXPECTED = ("ended", "agent_salon_schmidt", "Empfang", "inbound", "+4915112345678", "+493012345678",
            "2025-12-31T16:53:20+00:00", "2025-12-31T16:54:55+00:00", 95000, "agent_hangup",
            "Agent: Salon Schmidt, guten Tag.\nUser: Ich möchte einen Haarschnitt.", 2,
            "https://retell.example/rec.wav", "Max hat einen Haarschnitt gebucht.", "Positive", True, False,
            {"appointment_booked": True, "caller_name": "Max Mustermann"}, 16, True, "Max Mustermann", "lead", 1,
            "+493011112222")


@pytest.mark.parametrize("seed", range(8))
def test_every_event_in_shuffled_order_and_repeated_builds_the_same_call_and_bills_it_once(
    in_salon, django_capture_on_commit_callbacks, seed
):
    # given: every event twice, in a random order
    events = list(payloads().values()) * 2
    random.Random(seed).shuffle(events)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        for payload in events:
            services.apply_call_event(copy.deepcopy(payload))

    # then
    call = Call.objects.get(call_id="call_7f3c")
    assert Call.objects.count() == 1
    assert Customer.objects.count() == 1
    assert final_state(call) == EXPECTED
    usage = [asdict(event) for event in RECEIVED if event.event_name == "calls.call_ended"]
    assert usage == [{
        "call_id": "call_7f3c", "tenant_id": in_salon.pk, "duration_seconds": 95, "provider_cost_cents": 16,
        "provider_currency": "USD", "ended_at": dt.datetime(2025, 12, 31, 16, 54, 55, tzinfo=dt.UTC),
    }]


def test_all_orders_of_the_lifecycle_events_end_in_the_same_state(in_salon, django_capture_on_commit_callbacks):
    names = ["call_started", "transcript_early", "call_ended", "call_analyzed"]
    for index, order in enumerate(itertools.permutations(names)):
        call_id = f"call_perm_{index}"
        all_payloads = payloads(call_id)
        with django_capture_on_commit_callbacks(execute=True):
            for name in order:
                services.apply_call_event(copy.deepcopy(all_payloads[name]))
        call = Call.objects.get(call_id=call_id)
        assert (call.status, call.transcript, call.summary, call.cost_cents, call.usage_emitted_at is not None) == (
            "ended", EXPECTED[10], EXPECTED[13], 16, True,
        ), order
    assert len([e for e in RECEIVED if e.event_name == "calls.call_ended"]) == 24


def test_a_late_transcript_update_does_not_replace_the_final_transcript(in_salon):
    events = payloads()
    services.apply_call_event(events["call_ended"])

    services.apply_call_event(events["transcript_early"])

    assert Call.objects.get().transcript == EXPECTED[10]


def test_a_never_connected_call_without_call_started_is_billed_once_with_zero_duration(
    in_salon, django_capture_on_commit_callbacks
):
    # given: Retell sends no call_started for dial failures
    call = call_object("call_dial", direction="outbound", from_number="+493012345678", to_number="+4915199999999")
    ended = {**call, "end_timestamp": 1767200001000, "duration_ms": 0, "disconnection_reason": "dial_no_answer"}

    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.apply_call_event({"event": "call_ended", "call": ended})
        services.apply_call_event({"event": "call_analyzed", "call": {**ended, "call_analysis": {"call_summary": ""}}})

    # then
    stored = Call.objects.get(call_id="call_dial")
    assert (stored.status, stored.direction, stored.customer.phone) == ("not_connected", "outbound", "+4915199999999")
    assert [(e.duration_seconds, e.provider_cost_cents) for e in RECEIVED] == [(0, 0)]


def test_the_analysis_fills_the_name_of_a_caller_identified_only_by_number(in_salon):
    events = payloads()
    services.apply_call_event(events["call_started"])
    assert Call.objects.get().customer.name == ""

    services.apply_call_event(events["call_analyzed"])

    assert Call.objects.get().customer.name == "Max Mustermann"


def test_the_legacy_data_envelope_and_event_type_key_are_accepted(in_salon):
    services.apply_call_event({"event_type": "call_started", "data": call_object("call_legacy")})

    assert Call.objects.get().call_id == "call_legacy"


def test_a_payload_without_call_id_is_refused_and_stores_nothing(in_salon):
    with pytest.raises(services.MalformedCallEvent):
        services.apply_call_event({"event": "call_ended", "call": {"duration_ms": 5}})

    assert Call.objects.count() == 0


def test_repeated_transfer_events_are_logged_once_each(in_salon):
    events = payloads()
    bridged = {**events["transfer_started"], "event": "transfer_bridged"}
    for payload in (events["transfer_started"], events["transfer_started"], bridged, bridged):
        services.apply_call_event(payload)

    assert [t["event"] for t in Call.objects.get().transfers] == ["transfer_started", "transfer_bridged"]


def test_a_call_is_stored_only_in_its_tenants_schema(salon, physio):
    from django_tenants.utils import tenant_context

    with tenant_context(salon):
        services.apply_call_event(payloads()["call_started"])
    with tenant_context(physio):
        assert Call.objects.count() == 0
        assert Customer.objects.count() == 0
