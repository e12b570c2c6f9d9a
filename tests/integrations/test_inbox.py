from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from integrations.calcom.models import CalcomConnection
from integrations.inbox import IgnoreEvent, process_event
from integrations.models import WebhookEvent
from integrations.services import retry_failed_events, stuck_events
from tests.fixtures.integrations import (
    body,
    calcom_ping,
    post_calcom,
    post_retell,
    post_stripe,
    retell_event,
    stripe_event,
)


def test_a_signed_retell_event_is_stored_exactly_queued_high_and_answered_204(public_client, salon, django_capture_on_commit_callbacks):
    raw = body(retell_event(metadata={"tenant": "salon-schmidt"}, caller="Jörg Müller"))

    with django_capture_on_commit_callbacks() as callbacks:
        response = post_retell(public_client, raw)

    assert response.status_code == 204
    assert response.content == b""
    event = WebhookEvent.objects.get()
    assert (event.provider, event.event_type, event.event_key) == ("retell", "call_ended", "call_ended:call_abc123")
    assert bytes(event.raw_body) == raw
    assert event.tenant is None  # resolved by the worker, the answer does not wait for it
    assert event.status == WebhookEvent.Status.RECEIVED
    assert set(event.headers) == {"x-retell-signature", "content-type"}
    assert event.correlation_id == response["X-Request-ID"]
    assert len(callbacks) == 1
    process_event(event.pk)
    assert WebhookEvent.objects.get().tenant == salon


def test_the_retell_tenant_comes_from_the_agent_registry_without_metadata(public_client, physio):
    from tenants.models import VoiceAgent

    VoiceAgent.objects.create(agent_id="agent_physio", tenant=physio)

    post_retell(public_client, body(retell_event(agent_id="agent_physio")))
    process_event(WebhookEvent.objects.get().pk)

    assert WebhookEvent.objects.get().tenant == physio


def test_stripe_answers_200_json_on_both_paths_and_queues_by_priority(public_client, salon):
    first = post_stripe(public_client, body(stripe_event("evt_pay", metadata={"tenant": "salon-schmidt"})))
    second = post_stripe(public_client, body(stripe_event("evt_info", "balance.available")), path="/billing/webhook")

    assert first.status_code == second.status_code == 200
    assert first.json() == {"success": True, "received": True, "duplicate": False,
                            "event_id": WebhookEvent.objects.get(event_key="evt_pay").pk}
    queues = dict(WebhookEvent.objects.values_list("event_key", "queue"))
    assert queues == {"evt_pay": "webhooks", "evt_info": "webhooks_low"}  # handled by billing vs informational
    process_event(WebhookEvent.objects.get(event_key="evt_pay").pk)
    assert WebhookEvent.objects.get(event_key="evt_pay").tenant == salon


def test_a_handled_stripe_type_goes_to_the_medium_queue(public_client, register_handler):
    @register_handler("stripe", "payment_intent.succeeded")
    def credit(event):
        pass

    post_stripe(public_client, body(stripe_event()))

    assert WebhookEvent.objects.get().queue == "webhooks"


def test_calcom_is_accepted_on_the_tenant_host_and_by_slug_on_the_public_host(salon_client, public_client, salon, salon_calcom):
    raw = body(calcom_ping())

    on_tenant_host = post_calcom(salon_client, raw)
    by_slug = post_calcom(public_client, body({**calcom_ping(), "createdAt": "2026-03-01T10:00:01.000Z"}),
                          path="/api/calcom/webhook/salon-schmidt")
    unknown = post_calcom(public_client, raw, path="/api/calcom/webhook/nobody")

    assert (on_tenant_host.status_code, by_slug.status_code, unknown.status_code) == (200, 200, 404)
    assert unknown.json()["error"]["code"] == "TENANT_NOT_FOUND"
    assert list(WebhookEvent.objects.values_list("tenant__slug", "event_type", "queue")) == [
        ("salon-schmidt", "PING", "webhooks_low"), ("salon-schmidt", "PING", "webhooks_low")]


def test_a_duplicate_delivery_is_acknowledged_and_processed_once(public_client, register_handler, django_capture_on_commit_callbacks):
    calls = []

    @register_handler("retell", "call_ended")
    def record(event):
        calls.append(event.pk)

    raw = body(retell_event())
    with django_capture_on_commit_callbacks() as callbacks:
        first = post_retell(public_client, raw)
        second = post_retell(public_client, raw)
    event = WebhookEvent.objects.get()
    outcomes = [process_event(event.pk), process_event(event.pk)]

    assert first.status_code == second.status_code == 204
    assert len(callbacks) == 1
    assert outcomes == ["processed", "processed"]
    assert calls == [event.pk]
    event.refresh_from_db()
    assert (event.duplicates, event.attempts) == (1, 1)


def test_malformed_json_with_a_valid_signature_gets_400_and_is_kept(public_client, django_capture_on_commit_callbacks):
    raw = b'{"event": "call_ended", "call": '

    with django_capture_on_commit_callbacks() as callbacks:
        response = post_retell(public_client, raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_PAYLOAD"
    event = WebhookEvent.objects.get()
    assert (bytes(event.raw_body), event.payload, event.status) == (raw, None, "failed")
    assert event.last_error.startswith("MalformedPayload")
    assert callbacks == []


def test_a_handler_runs_in_the_tenant_schema_inside_a_transaction(public_client, salon_calcom, register_handler):
    seen = []

    @register_handler("retell", "call_analyzed")
    def record(event):
        seen.append((connection.schema_name, connection.in_atomic_block, event.payload["call"]["call_id"]))

    connection.set_schema_to_public()
    post_retell(public_client, body(retell_event("call_analyzed", metadata={"tenant": "salon-schmidt"})))

    assert process_event(WebhookEvent.objects.get().pk) == "processed"
    assert seen == [("salon_schmidt", True, "call_abc123")]
    assert connection.schema_name == "public"


def test_a_failing_handler_is_retried_with_backoff_then_failed_then_retried_by_the_command(
    public_client, register_handler, settings,
):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    broken = {"yes": True}

    @register_handler("retell", "call_ended")
    def flaky(event):
        if broken["yes"]:
            raise RuntimeError("calls table locked")

    post_retell(public_client, body(retell_event()))
    event_id = WebhookEvent.objects.get().pk
    start = timezone.now()

    first = process_event(event_id, now=start)
    event = WebhookEvent.objects.get()
    first_retry_at = event.next_attempt_at
    too_early = process_event(event_id, now=start + timedelta(seconds=10))
    second = process_event(event_id, now=start + timedelta(seconds=31))
    second_retry_at = WebhookEvent.objects.get().next_attempt_at
    third = process_event(event_id, now=start + timedelta(seconds=200))
    event = WebhookEvent.objects.get()

    assert (first, too_early, second, third) == ("received", "not_due", "received", "failed")
    assert first_retry_at - start >= timedelta(seconds=30)
    assert timedelta(seconds=90) <= second_retry_at - start <= timedelta(seconds=95)  # 31 s + 60 s
    assert (event.status, event.attempts, event.next_attempt_at) == ("failed", 3, None)
    assert event.last_error == "RuntimeError: calls table locked"
    assert process_event(event_id, now=start + timedelta(hours=1)) == "failed"  # stays failed

    broken["yes"] = False
    out = StringIO()
    call_command("webhooks_retry_failed", "--provider", "retell", stdout=out)
    assert WebhookEvent.objects.get().status == "received"
    assert process_event(event_id) == "processed"
    assert "1 event(s) queued" in out.getvalue()
    assert WebhookEvent.objects.get().attempts == 4


def test_a_failed_handler_rolls_back_its_writes(public_client, salon, salon_calcom, register_handler):
    @register_handler("retell", "call_ended")
    def half_done(event):
        CalcomConnection.objects.update(team_id=99)
        raise RuntimeError("second step failed")

    connection.set_schema_to_public()
    post_retell(public_client, body(retell_event(metadata={"tenant": "salon-schmidt"})))
    process_event(WebhookEvent.objects.get().pk)

    with tenant_context(salon):
        assert CalcomConnection.objects.get().team_id is None


def test_ignore_event_and_unknown_types_end_ignored(public_client, register_handler):
    @register_handler("retell", "chat_started")
    def not_interested(event):
        raise IgnoreEvent("test call")

    post_retell(public_client, body(retell_event("chat_started")))
    post_retell(public_client, body(retell_event("brand_new_event")))
    outcomes = {e.event_type: process_event(e.pk) for e in WebhookEvent.objects.all()}

    assert outcomes == {"chat_started": "ignored", "brand_new_event": "ignored"}
    assert dict(WebhookEvent.objects.values_list("event_type", "last_error")) == {
        "chat_started": "test call", "brand_new_event": "no handler for this event type"}


def test_a_suspended_tenants_events_fail_for_an_operator_instead_of_running(public_client, salon, register_handler):
    @register_handler("retell", "call_ended")
    def handle(event):
        raise AssertionError("must not run")

    post_retell(public_client, body(retell_event(metadata={"tenant": "salon-schmidt"})))
    type(salon).objects.filter(pk=salon.pk).update(status="suspended")

    assert process_event(WebhookEvent.objects.get().pk) == "failed"
    assert WebhookEvent.objects.get().last_error == "TenantSuspended: salon-schmidt"


def test_the_calcom_ping_handler_records_the_ping_without_a_history_row(salon_client, salon, salon_calcom):
    with tenant_context(salon):
        history_rows = CalcomConnection.history.count()
    post_calcom(salon_client, body(calcom_ping()))
    connection.set_schema_to_public()

    assert process_event(WebhookEvent.objects.get().pk) == "processed"
    with tenant_context(salon):
        assert CalcomConnection.objects.get().last_ping_at is not None
        assert CalcomConnection.history.count() == history_rows


def test_webhook_endpoints_refuse_get_and_rate_limit_per_source(public_client, settings):
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE = 2
    get = public_client.get("/webhooks/retell")
    answers = [post_retell(public_client, body(retell_event(call_id=f"c{i}"))).status_code for i in range(3)]

    assert get.status_code == 405
    assert get.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert answers == [204, 204, 429]
    assert WebhookEvent.objects.count() == 2


def test_the_sweeper_finds_events_never_queued_overdue_retries_and_lost_workers(public_client, settings):
    settings.WEBHOOK_STUCK_AFTER_SECONDS = 60
    for call_id in ("fresh", "old", "retry", "lost"):
        post_retell(public_client, body(retell_event(call_id=call_id)))
    now = timezone.now()
    WebhookEvent.objects.filter(event_key__endswith=":old").update(received_at=now - timedelta(minutes=5))
    WebhookEvent.objects.filter(event_key__endswith=":retry").update(next_attempt_at=now - timedelta(minutes=2), attempts=1)
    WebhookEvent.objects.filter(event_key__endswith=":lost").update(
        status="processing", processing_started_at=now - timedelta(minutes=10))

    stuck = sorted(key.split(":")[1] for key in stuck_events(now).values_list("event_key", flat=True))

    assert stuck == ["lost", "old", "retry"]


def test_webhooks_status_prints_counts_and_statistics(public_client):
    post_retell(public_client, body(retell_event()))
    post_retell(public_client, body(retell_event()))
    out = StringIO()

    call_command("webhooks_status", "--provider", "retell", "--stats", stdout=out)

    text = out.getvalue()
    assert "received            1" in text
    assert "duplicates prevented   1" in text


def test_webhooks_retry_failed_refuses_an_event_that_is_not_failed(public_client):
    post_retell(public_client, body(retell_event()))
    event_id = WebhookEvent.objects.get().pk

    with pytest.raises(CommandError, match="only failed events"):
        call_command("webhooks_retry_failed", "--webhook-id", str(event_id))
    assert retry_failed_events(event_id=event_id, dry_run=True) == []
    assert WebhookEvent.objects.get().status == "received"


def test_detailed_health_lists_breakers_and_the_inbox(public_client, settings):
    settings.HEALTH_TOKEN = "ops-token"  # the detailed report is operator-only
    integrations = public_client.get("/api/health/detailed", HTTP_AUTHORIZATION="Bearer ops-token").json()["integrations"]

    assert {"calcom", "stripe", "retell", "webhook_inbox"} <= set(integrations)
    assert integrations["calcom"]["breaker"] == "closed"
    assert integrations["webhook_inbox"]["status"] == "ok"


def test_the_one_statement_insert_stores_exactly_what_the_orm_would(salon):
    from datetime import UTC, datetime

    import time_machine

    from integrations.services import insert_unless_known

    # given
    fields = {
        "provider": "calcom", "event_type": "PING", "tenant": salon, "raw_body": '{"name": "Jörg"}'.encode(),
        "payload": {"name": "Jörg", "nested": {"n": [1, 2.5, None, True]}}, "headers": {"content-type": "application/json"},
        "source_ip": "2001:db8::1", "queue": "webhooks_low", "correlation_id": "req-1",
    }

    # when
    with time_machine.travel(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), tick=False):
        lean_id = insert_unless_known(event_key="same-input", **fields)
        orm_id = WebhookEvent.objects.create(event_key="same-input-orm", **fields).pk
        again = insert_unless_known(event_key="same-input", **fields)

    # then
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, to_jsonb(e) - 'id' - 'event_key' FROM integrations_webhookevent e ORDER BY id",
        )
        rows = {event_id: json.loads(row) for event_id, row in cursor.fetchall()}  # Django leaves jsonb undecoded
    assert set(rows) == {lean_id, orm_id}
    assert rows[lean_id] == rows[orm_id]
    assert rows[lean_id]["received_at"].startswith("2026-03-29T01:30:00")
    assert again is None
    assert WebhookEvent.objects.get(pk=lean_id).duplicates == 0  # counting is receive_webhook's job


def test_the_sweeper_requeues_an_event_queued_long_ago_once_and_not_one_just_queued(public_client, settings, celery_eager):
    from integrations import services

    settings.WEBHOOK_STUCK_AFTER_SECONDS = 60
    for call_id in ("never", "long_ago", "just_now"):
        post_retell(public_client, body(retell_event(call_id=call_id)))
    now = timezone.now()
    WebhookEvent.objects.update(received_at=now - timedelta(minutes=10))
    WebhookEvent.objects.filter(event_key__endswith=":long_ago").update(queued_at=now - timedelta(minutes=5))
    WebhookEvent.objects.filter(event_key__endswith=":just_now").update(queued_at=now - timedelta(seconds=10))

    # the queued tasks run at once (eager): an event the sweeper queued is attempted
    first_sweep = services.sweep_stuck_events(now=now)
    second_sweep = services.sweep_stuck_events(now=now + timedelta(seconds=30))

    assert (first_sweep, second_sweep) == (2, 0)
    assert sorted(WebhookEvent.objects.filter(attempts=1).values_list("event_key", flat=True)) == [
        "call_ended:long_ago", "call_ended:never"]
    assert WebhookEvent.objects.get(event_key="call_ended:just_now").attempts == 0


def _own_retell_account(tenant, key: str) -> None:
    from calls.models import VoiceSettings

    with tenant_context(tenant):
        VoiceSettings.objects.update_or_create(defaults={"retell_api_key": key})


def test_a_call_event_signed_with_the_tenants_own_retell_key_is_accepted(public_client, salon):
    # given Salon Schmidt runs its agent in its own Retell account
    _own_retell_account(salon, "key_salon_own_account")
    raw = body(retell_event(call_id="call_own", metadata={"tenant": "salon-schmidt"}))

    # when
    response = post_retell(public_client, raw, key="key_salon_own_account")

    # then
    assert response.status_code == 204
    assert WebhookEvent.objects.get().event_key == "call_ended:call_own"


def test_a_tenant_key_does_not_sign_for_another_tenants_calls(public_client, salon, physio):
    # given both tenants have their own Retell account
    _own_retell_account(salon, "key_salon_own_account")
    _own_retell_account(physio, "key_physio_own_account")
    raw = body(retell_event(call_id="call_forged", metadata={"tenant": "physio-nord"}))

    # when Salon Schmidt's key signs a call routed to Physio Nord
    response = post_retell(public_client, raw, key="key_salon_own_account")

    # then
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "SIGNATURE_INVALID"
    assert not WebhookEvent.objects.exists()


def test_the_platform_key_still_signs_for_a_tenant_with_its_own_account(public_client, salon):
    _own_retell_account(salon, "key_salon_own_account")

    response = post_retell(public_client, body(retell_event(call_id="call_platform", metadata={"tenant": "salon-schmidt"})))

    assert response.status_code == 204
