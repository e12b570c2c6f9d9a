"""One tenant rule for a call's function calls and its webhooks: the agent / number registry
decides; a ``metadata.tenant`` naming another tenant is logged and ignored."""

from __future__ import annotations

import logging

from django_tenants.utils import tenant_context

from appointments.models import Customer
from calls.models import Call
from integrations.inbox import process_event
from integrations.models import WebhookEvent
from tests.fixtures.calls import SALON_AGENT, SALON_NUMBER, call_object, function_call
from tests.fixtures.integrations import body, post_retell


def calls_in(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(Call.objects.values_list("call_id", flat=True))


def test_a_call_whose_metadata_names_another_tenant_runs_and_is_recorded_in_the_routed_tenant(
        salon, physio, public_client, salon_route, retell_key, caplog):
    # given: the salon's agent on the salon's number, but metadata naming the physio practice
    call = call_object("call_split", agent_id=SALON_AGENT, to_number=SALON_NUMBER, metadata={"tenant": "physio-nord"})

    # when: a function call during the call, then its call_ended webhook
    function_call(public_client, "check-customer", {}, call_id="call_split", agent_id=SALON_AGENT,
                  to_number=SALON_NUMBER, metadata={"tenant": "physio-nord"})
    with caplog.at_level(logging.WARNING, logger="askpro.security"):
        response = post_retell(public_client, body({"event": "call_ended", "call": {
            **call, "call_status": "ended", "end_timestamp": 1767200095000}}), key=retell_key)
    event = WebhookEvent.objects.get()
    outcome = process_event(event.pk, force=True)

    # then: both in Salon Schmidt, nothing in Physio Nord
    assert (response.status_code, outcome) == (204, "processed")
    event.refresh_from_db()
    assert event.tenant_id == salon.pk
    assert calls_in(salon) == ["call_split"]
    assert calls_in(physio) == []
    with tenant_context(salon):
        assert Customer.objects.count() == 1
    assert any("metadata.tenant 'physio-nord' conflicts with the routed tenant 'salon-schmidt'" in record.getMessage()
               for record in caplog.records)


def test_metadata_still_routes_a_call_the_registry_does_not_know(salon, physio, public_client, retell_key):
    call = call_object("call_meta", agent_id="agent_unregistered", to_number="+499999999999",
                       metadata={"tenant": "physio-nord"})

    post_retell(public_client, body({"event": "call_ended", "call": {**call, "call_status": "ended"}}), key=retell_key)
    event = WebhookEvent.objects.get()
    process_event(event.pk, force=True)

    event.refresh_from_db()
    assert event.tenant_id == physio.pk
    assert calls_in(physio) == ["call_meta"]
