"""Webhook workers behind PgBouncer in transaction pooling mode.

Two worker processes reach the test database only through a PgBouncer whose pool has two server
connections shared by both. Each event is processed in one transaction holding a
transaction-level advisory lock; a session-level lock (taken by one statement, released by a
later one that the pooler may run on another server connection) would stay behind on a pooled
server connection, where the sweeper reads it as a live worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection, connections
from django_tenants.utils import tenant_context

from integrations.inbox import _LOCK_NAMESPACE
from integrations.models import WebhookEvent
from tenants.models import Tenant
from tests.conftest import running_worker, wait_for
from tests.fixtures.integrations import body, retell_event
from tests.tenants.test_pgbouncer import PGBOUNCER, _free_port, _user_exists

pytestmark = pytest.mark.slow


@pytest.fixture
def pooled_database_url(committed_db: None) -> Iterator[str]:
    """A PgBouncer (transaction pooling, two server connections) in front of the test database,
    under the test database's own name; yields the URL for the workers."""
    if not Path(PGBOUNCER).exists():
        pytest.fail("pgbouncer is not installed (Debian package pgbouncer)")
    target = connections["default"].settings_dict
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="askpro-pgbouncer-inbox-"))
    workdir.chmod(0o777)
    server = f"host={target['HOST'] or '127.0.0.1'}" + (f" port={target['PORT']}" if target["PORT"] else "")
    (workdir / "users.txt").write_text(f'"{target["USER"]}" ""\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{target['NAME']} = {server} dbname={target['NAME']} user={target['USER']}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {workdir / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 50\nlog_connections = 0\nlog_disconnections = 0\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {workdir / 'pgbouncer.log'}\npidfile = {workdir / 'pgbouncer.pid'}\n"
    )
    for path in workdir.iterdir():
        path.chmod(0o666)
    command = [PGBOUNCER, "-q", str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        command[1:1] = ["-u", "pgserver" if _user_exists("pgserver") else "nobody"]
    process = subprocess.Popen(command)  # noqa: S603
    url = f"postgresql://{target['USER']}@127.0.0.1:{port}/{target['NAME']}"
    deadline = time.monotonic() + 60
    while True:  # wait for it to answer, generously
        try:
            with psycopg.connect(url, connect_timeout=2, prepare_threshold=None) as probe:
                probe.execute("SELECT 1")
            break
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("PgBouncer did not come up")
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        shutil.rmtree(workdir, ignore_errors=True)


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
