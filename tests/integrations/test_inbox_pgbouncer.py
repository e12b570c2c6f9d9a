"""Webhook workers behind PgBouncer in transaction pooling mode.

Two worker processes reach the test database only through a PgBouncer whose pool has two server
connections shared by both. Each event is processed in one transaction holding a
transaction-level advisory lock; a session-level lock (taken by one statement, released by a
later one that the pooler may run on another server connection) would stay behind on a pooled
server connection, where the sweeper reads it as a live worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from integrations.inbox import _LOCK_NAMESPACE
from integrations.models import WebhookEvent
from tenants.models import Tenant
from tests.conftest import running_worker, wait_for
from tests.fixtures.http import free_port
from tests.fixtures.integrations import body, retell_event
from tests.fixtures.pgbouncer import running_pgbouncer

pytestmark = pytest.mark.slow


@pytest.fixture
def pooled_database_url(committed_db: None) -> Iterator[str]:
    """A PgBouncer (transaction pooling, two server connections) in front of the test database,
    under the test database's own name; yields the URL for the workers."""
    target = connections["default"].settings_dict
    with running_pgbouncer(target, port=free_port(), pool_size=2) as bouncer:
        yield bouncer.url(target["USER"], target["NAME"])


def _held_processing_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %s"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [_LOCK_NAMESPACE >> 32],
        )
        return int(cursor.fetchone()[0])


def test_workers_behind_pgbouncer_in_transaction_mode_process_each_event_once_and_leave_no_lock(
    pooled_database_url: str,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.core.handlers.wsgi import WSGIHandler

    from calls.models import Call
    from integrations.ingest import WebhookFront
    from tests.integrations.test_webhook_front import retell as post_to_front

    # given two worker processes that reach PostgreSQL only through the pooler
    salon = Tenant.objects.get(slug="salon-schmidt")
    front = WebhookFront(WSGIHandler())
    env: dict[str, Any] = {"DATABASE_URL": pooled_database_url, "DATABASE_POOL_MODE": "transaction"}
    with running_worker("-c", "2", env=env):

        def send(i: int) -> int:
            try:
                raw = body(retell_event(call_id=f"call_pooled_{i}", metadata={"tenant": "salon-schmidt"}))
                return post_to_front(front, raw).status_code
            finally:
                connections.close_all()

        # when a burst of deliveries arrives
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(send, range(60)))

        # then every event is processed once, in its tenant, and no processing lock stays behind
        assert statuses == [204] * 60
        wait_for(lambda: WebhookEvent.objects.filter(status="processed").count() == 60, timeout=180)
        assert set(WebhookEvent.objects.values_list("status", "attempts", "tenant_id")) == {("processed", 1, salon.pk)}
        with tenant_context(salon):
            assert Call.objects.count() == 60
        assert _held_processing_locks() == 0
