"""End to end through a real Celery worker and real commits."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from askpro.celery import app
from integrations.calcom.models import CalcomConnection
from integrations.models import WebhookEvent
from integrations.services import sweep_stuck_events
from tenants.models import Tenant
from tests.conftest import running_worker, wait_for
from tests.fixtures.integrations import (
    CALCOM_SECRET,
    body,
    broker_unreachable,
    calcom_ping,
    post_calcom,
    post_retell,
    retell_event,
)

pytestmark = pytest.mark.slow


def nothing_queued_or_running() -> bool:
    """No task waits in the broker's queues and the worker runs or holds none: nothing can still
    change the events. The signal a test waits for instead of sleeping "long enough"."""
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        waiting = sum(
            broker.llen(key) for key in broker.scan_iter(match=f"{prefix}*", count=500)
            if broker.type(key) == b"list"
        )
    finally:
        broker.close()
    if waiting:
        return False
    inspect = app.control.inspect(timeout=2.0)
    active, reserved = inspect.active(), inspect.reserved()
    if not active or reserved is None:
        return False  # the worker did not answer: no evidence either way
    return not any(active.values()) and not any(reserved.values())


def _salon_with_calcom() -> Tenant:
    salon = Tenant.objects.get(slug="salon-schmidt")
    with tenant_context(salon):
        CalcomConnection.objects.create(api_key="cal_test_salon", webhook_secret=CALCOM_SECRET)
    return salon


def test_a_calcom_ping_is_processed_by_a_real_worker(live_worker):
    salon = _salon_with_calcom()

    response = post_calcom(Client(HTTP_HOST="localhost"), body(calcom_ping()), path="/api/calcom/webhook/salon-schmidt")

    assert response.status_code == 200
    event = wait_for(lambda: WebhookEvent.objects.filter(status="processed").first())
    assert (event.attempts, event.tenant_id, event.queue) == (1, salon.pk, "webhooks_low")
    assert event.processing_ms is not None
    with tenant_context(salon):
        assert CalcomConnection.objects.get().last_ping_at is not None


def test_the_worker_keeps_its_database_connection_from_task_to_task(committed_db):
    _salon_with_calcom()
    client = Client(HTTP_HOST="localhost")
    backends = []
    # one process (solo pool) that may keep its connection, as in production (CONN_MAX_AGE 60)
    with running_worker("--pool", "solo", env={"ASKPRO_TEST_CONN_MAX_AGE": "60"}):
        for number in range(1, 4):
            ping = {**calcom_ping(), "createdAt": f"2026-03-01T10:00:0{number}.000Z"}
            assert post_calcom(client, body(ping), path="/api/calcom/webhook/salon-schmidt").status_code == 200
            wait_for(lambda n=number: WebhookEvent.objects.filter(status="processed").count() == n)
            backends.append(_other_backends())

    assert len(backends[0]) == 1  # the worker's connection outlives its task...
    assert backends[0] == backends[1] == backends[2]  # ...and serves the next ones


def _other_backends() -> set[int]:
    """PostgreSQL backends connected to the test database, except this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return {row[0] for row in cursor.fetchall()}


def test_events_received_while_redis_is_down_are_answered_kept_and_recovered_by_the_sweeper(live_worker, settings):
    salon = _salon_with_calcom()
    client = Client(HTTP_HOST="localhost")

    with broker_unreachable():
        calcom = post_calcom(client, body(calcom_ping()), path="/api/calcom/webhook/salon-schmidt")
        retell = post_retell(client, body(retell_event(call_id="call_outage")))

    assert (calcom.status_code, retell.status_code) == (200, 204)
    wait_for(nothing_queued_or_running, timeout=120)  # so nothing can still pick them up
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"received"}

    requeued = sweep_stuck_events(now=timezone.now() + timedelta(seconds=settings.WEBHOOK_STUCK_AFTER_SECONDS + 1))

    assert requeued == 2
    wait_for(lambda: not WebhookEvent.objects.filter(status__in=("received", "processing")).exists())
    assert dict(WebhookEvent.objects.values_list("provider", "status")) == {"calcom": "processed", "retell": "ignored"}
    with tenant_context(salon):
        assert CalcomConnection.objects.get().last_ping_at is not None


def test_the_same_delivery_sent_concurrently_is_stored_and_processed_once(live_worker):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    _salon_with_calcom()
    raw = body(calcom_ping())

    def send(_: int) -> int:
        try:
            return post_calcom(Client(HTTP_HOST="localhost"), raw, path="/api/calcom/webhook/salon-schmidt").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(send, range(6)))

    assert statuses == [200] * 6
    event = wait_for(lambda: WebhookEvent.objects.filter(status="processed").first())
    wait_for(nothing_queued_or_running, timeout=120)  # a second run would have to be queued or running
    event.refresh_from_db()
    assert (WebhookEvent.objects.count(), event.duplicates, event.attempts) == (1, 5, 1)


def test_a_burst_of_lean_deliveries_is_processed_exactly_once_through_the_dispatcher(live_worker):
    from concurrent.futures import ThreadPoolExecutor

    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections

    from calls.models import Call
    from integrations.ingest import WebhookFront
    from tests.integrations.test_webhook_front import retell as post_to_front

    salon = Tenant.objects.get(slug="salon-schmidt")
    front = WebhookFront(WSGIHandler())

    def send(i: int) -> int:
        try:
            raw = body(retell_event(call_id=f"call_burst_{i}", metadata={"tenant": "salon-schmidt"}))
            return post_to_front(front, raw).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(60)))

    assert statuses == [204] * 60
    wait_for(lambda: WebhookEvent.objects.filter(status="processed").count() == 60, timeout=120)
    wait_for(nothing_queued_or_running, timeout=120)
    assert set(WebhookEvent.objects.values_list("status", "attempts", "tenant_id")) == {("processed", 1, salon.pk)}
    assert not WebhookEvent.objects.filter(queued_at__isnull=True).exists()
    with tenant_context(salon):
        assert Call.objects.count() == 60


def test_events_stored_while_redis_is_down_are_answered_and_recovered_by_the_sweeper(
        live_worker, settings, unreachable_redis):
    _salon_with_calcom()

    response = post_retell(Client(HTTP_HOST="localhost"), body(retell_event(call_id="call_no_redis")))

    assert response.status_code == 204
    wait_for(nothing_queued_or_running, timeout=120)
    assert list(WebhookEvent.objects.values_list("status", "queued_at")) == [("received", None)]
    requeued = sweep_stuck_events(now=timezone.now() + timedelta(seconds=settings.WEBHOOK_STUCK_AFTER_SECONDS + 1))
    assert requeued == 1
    wait_for(lambda: WebhookEvent.objects.filter(status="ignored").exists())
