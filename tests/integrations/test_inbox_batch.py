"""Batch processing of stored webhook events (integrations.inbox.process_events): one claim for a
batch, each event in its own transaction, failures isolated, nothing processed twice."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from integrations.calcom.models import CalcomConnection
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



def _stored(public_client, *calls: tuple[str, str]) -> list[int]:
    """Store Retell call_ended events (call id, tenant slug) in this order; returns their ids in order."""
    for call_id, tenant in calls:
        post_retell(public_client, body(retell_event(call_id=call_id, metadata={"tenant": tenant})))
    return list(WebhookEvent.objects.order_by("pk").values_list("pk", flat=True))


def _connect(tenant, team_id=None):
    with tenant_context(tenant):
        return CalcomConnection.objects.create(api_key="cal_test", webhook_secret="s", team_id=team_id)


def test_a_batch_spanning_two_tenants_writes_each_event_into_its_own_schema(public_client, salon, physio, register_handler):
    # given events of two tenants interleaved in one batch, each handler writing into its schema
    _connect(salon)
    _connect(physio)
    seen: list[tuple[str, str]] = []

    @register_handler("retell", "call_ended")
    def record(event):
        call_id = event.payload["call"]["call_id"]
        seen.append((call_id, connection.schema_name))
        CalcomConnection.objects.update(organizer_email=f"{call_id}@example.org")

    connection.set_schema_to_public()
    ids = _stored(public_client, ("s1", "salon-schmidt"), ("p1", "physio-nord"), ("s2", "salon-schmidt"), ("p2", "physio-nord"))

    # when the batch is processed
    assert process_events(ids) == {"skipped": 0, "processed": 4}

    # then each event ran in its own tenant's schema (in id order within a tenant), wrote only
    # there, and the connection is back in public
    assert sorted(seen) == [("p1", "physio_nord"), ("p2", "physio_nord"), ("s1", "salon_schmidt"), ("s2", "salon_schmidt")]
    assert [call for call, _ in seen if call.startswith("s")] == ["s1", "s2"]
    with tenant_context(salon):
        assert CalcomConnection.objects.get().organizer_email == "s2@example.org"
    with tenant_context(physio):
        assert CalcomConnection.objects.get().organizer_email == "p2@example.org"
    assert connection.schema_name == "public"
    assert dict(WebhookEvent.objects.values_list("event_key", "tenant__slug")) == {
        "call_ended:s1": "salon-schmidt", "call_ended:p1": "physio-nord",
        "call_ended:s2": "salon-schmidt", "call_ended:p2": "physio-nord"}


def test_a_handler_that_switches_schema_does_not_carry_the_next_event_into_it(public_client, salon, physio, register_handler):
    # given two events of one tenant; the first one's handler leaves the connection in another tenant
    seen: list[str] = []

    @register_handler("retell", "call_ended")
    def careless(event):
        seen.append(connection.schema_name)
        connection.set_tenant(physio)

    connection.set_schema_to_public()
    ids = _stored(public_client, ("a", "salon-schmidt"), ("b", "salon-schmidt"))

    # when both are processed in one batch
    process_events(ids)

    # then the second still runs in its own tenant's schema
    assert seen == ["salon_schmidt", "salon_schmidt"]
    assert connection.schema_name == "public"


def test_a_database_error_in_one_handler_rolls_back_only_its_event(public_client, salon, register_handler):
    # given a batch in which one handler's statement fails in PostgreSQL (aborting its transaction)
    _connect(salon)

    @register_handler("retell", "call_ended")
    def write(event):
        call_id = event.payload["call"]["call_id"]
        CalcomConnection.objects.update(organizer_email=f"{call_id}@example.org")
        if call_id == "bad":
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")

    connection.set_schema_to_public()
    ids = _stored(public_client, ("a", "salon-schmidt"), ("bad", "salon-schmidt"), ("c", "salon-schmidt"))

    # when the batch is processed
    outcome = process_events(ids)

    # then the others are processed, the bad one waits for its retry, and its write is gone
    assert outcome == {"skipped": 0, "processed": 2, "received": 1}
    bad = WebhookEvent.objects.get(event_key="call_ended:bad")
    assert bad.last_error.startswith("ProgrammingError")
    with tenant_context(salon):
        assert CalcomConnection.objects.get().organizer_email == "c@example.org"


def test_every_event_of_a_batch_holds_its_processing_lock_until_the_batch_commits(public_client, salon, register_handler):
    # given a batch of three; the sweeper is asked about orphans while the last one runs
    from integrations.services import _orphaned_processing

    orphans: list[list[int]] = []

    @register_handler("retell", "call_ended")
    def look(event):
        if event.payload["call"]["call_id"] == "c":
            orphans.append(_orphaned_processing(timezone.now() + timedelta(hours=1)))

    ids = [_stored(public_client, (call_id, "salon-schmidt"))[-1] for call_id in ("a", "b", "c")]

    # when processed
    process_events(ids)

    # then none of the batch's events looked orphaned (their locks were held), and none is left
    assert orphans == [[]]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_a_batch_costs_two_statements_per_event_beyond_its_handlers(public_client, salon, register_handler):
    # given the only handler of an event type doing nothing, and batches of 5 and of 10 events of one tenant
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    @register_handler("retell", "call_noop")
    def nothing(event):
        pass

    def statements(count: int, run: str) -> int:
        connection.set_schema_to_public()
        known = set(WebhookEvent.objects.values_list("pk", flat=True))
        for i in range(count):
            post_retell(public_client, body(retell_event("call_noop", call_id=f"{run}{i}")))
        ids = sorted(set(WebhookEvent.objects.values_list("pk", flat=True)) - known)
        WebhookEvent.objects.filter(pk__in=ids).update(tenant=salon)  # known at receipt, as for Cal.com
        with CaptureQueriesContext(db) as captured:
            assert process_events(ids) == {"skipped": 0, "processed": count}
        return len(captured.captured_queries)

    # when both are processed, then the five more events cost a savepoint and its release each
    small, large = statements(5, "s"), statements(10, "l")
    assert large - small == 2 * 5
