"""Shared test infrastructure: one migrated template, the demo cast's tenants, clients, workers.

Tenants "Salon Schmidt" and "Physio Nord" are created once per session by cloning the template
schema; each test runs in a transaction that is rolled back. Tests that need committed data
(real concurrent connections, live workers, live servers) use ``committed_db``.

App-specific fixtures live in ``tests/fixtures/<app>.py`` and are loaded automatically.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django_tenants.utils import get_public_schema_name, schema_context, tenant_context

PROJECT_DIR = Path(__file__).resolve().parent.parent

pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)

SALON_HOST = "salon-schmidt.localhost"
PHYSIO_HOST = "physio-nord.localhost"

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the embedded test servers (.askpro/test-*) once every fixture is torn down, so a run
    leaves no PostgreSQL or Redis behind. Servers given by DATABASE_URL / REDIS_URL are kept."""
    from askpro.embedded import stop_services

    stop_services(pg_name="test-pg")


# Tables that committed_db keeps between tests (structure-like rows, not test data).
KEEP_TABLES = {
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "auth_group",
    "auth_group_permissions",
    "auth_user",
    "tenants_tenant",
    "tenants_domain",
}
# Apps can protect seed tables (e.g. built-in templates) by adding their names here.
KEEP_TABLES_EXTRA: set[str] = set()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    from django.test.utils import setup_databases, teardown_databases

    from tenants import services

    own_setup = None
    with django_db_blocker.unblock():
        if not _on_test_database():
            # pytest-django only creates the test database when a collected test uses `db`;
            # a run of committed_db tests alone must not fall through to DATABASE_URL's database.
            own_setup = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        services.ensure_public_tenant()
        services.ensure_template_tenant()
        for name, slug, host in (
            ("Salon Schmidt", "salon-schmidt", SALON_HOST),
            ("Physio Nord", "physio-nord", PHYSIO_HOST),
        ):
            services.create_tenant(name=name, slug=slug, domain=host)
    yield
    if own_setup is not None:
        with django_db_blocker.unblock():
            teardown_databases(own_setup, verbosity=0)


def _on_test_database() -> bool:
    return str(connection.settings_dict["NAME"]) == str(settings.DATABASES["default"]["TEST"]["NAME"])


@pytest.fixture(autouse=True)
def _reset_schema_and_cache() -> Iterator[None]:
    yield
    connection.set_schema_to_public()
    _clear_test_cache()


def _clear_test_cache() -> None:
    client = cache._cache.get_client()  # type: ignore[attr-defined]
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"*{prefix}*", count=500))
    if keys:
        client.delete(*keys)


@pytest.fixture
def any_db(request: pytest.FixtureRequest) -> None:
    """Database access for fixtures: rolled-back ``db`` normally, ``committed_db`` when the test
    asked for it (mixing both would wrap a "committed" test in a transaction that never commits)."""
    if "committed_db" in request.fixturenames or "live_worker" in request.fixturenames:
        request.getfixturevalue("committed_db")
    else:
        request.getfixturevalue("db")


@pytest.fixture
def public_tenant(any_db: None) -> Any:
    from tenants.models import Tenant

    return Tenant.objects.get(schema_name=get_public_schema_name())


@pytest.fixture
def salon(any_db: None) -> Any:
    from tenants.models import Tenant

    with schema_context(get_public_schema_name()):
        return Tenant.objects.get(slug="salon-schmidt")


@pytest.fixture
def physio(any_db: None) -> Any:
    from tenants.models import Tenant

    with schema_context(get_public_schema_name()):
        return Tenant.objects.get(slug="physio-nord")


@pytest.fixture
def in_salon(salon: Any) -> Iterator[Any]:
    """Run the test body inside Salon Schmidt's schema."""
    with tenant_context(salon):
        yield salon


@pytest.fixture
def in_physio(physio: Any) -> Iterator[Any]:
    with tenant_context(physio):
        yield physio


@pytest.fixture
def salon_client(salon: Any) -> Client:
    return Client(HTTP_HOST=SALON_HOST)


@pytest.fixture
def physio_client(physio: Any) -> Client:
    return Client(HTTP_HOST=PHYSIO_HOST)


@pytest.fixture
def public_client(public_tenant: Any) -> Client:
    return Client(HTTP_HOST="localhost")


def _truncate_test_data() -> None:
    if not _on_test_database():
        raise RuntimeError("refusing to truncate a database that is not the test database")
    keep = KEEP_TABLES | KEEP_TABLES_EXTRA
    from tenants.models import Tenant

    with schema_context(get_public_schema_name()):
        schemas = [get_public_schema_name()] + list(
            Tenant.objects.filter(is_template=False)
            .exclude(schema_name=get_public_schema_name())
            .values_list("schema_name", flat=True)
        )
    with connection.cursor() as cursor:
        # The test database's superuser may bypass the append-only ledger's TRUNCATE guard; the
        # application's role cannot (tests/askpro/test_database_roles.py).
        cursor.execute("SET session_replication_role = replica")
        try:
            for schema in schemas:
                cursor.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema]
                )
                tables = [row[0] for row in cursor.fetchall() if row[0] not in keep]
                if tables:
                    names = ", ".join(f'"{schema}"."{table}"' for table in tables)
                    cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
                cursor.execute(
                    f'DELETE FROM "{schema}"."auth_user" WHERE username <> %s', ["AnonymousUser"]
                )
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
        # Tenants created by a test (beyond the session's) are dropped again.
        extra = Tenant.objects.exclude(
            slug__in=["public", "template", "salon-schmidt", "physio-nord"]
        )
        for tenant in extra:
            tenant.delete(force_drop=True)


@pytest.fixture
def committed_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Real commits (for concurrency, live workers and live servers); cleaned up afterwards."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        try:
            yield
        finally:
            connection.set_schema_to_public()
            _truncate_test_data()


def worker_env() -> dict[str, str]:
    """Environment for subprocesses (workers, servers) that must share the test database."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "askpro.settings_test"
    env["ASKPRO_USE_TEST_DATABASE"] = "1"
    env["PYTHONPATH"] = str(PROJECT_DIR)
    return env


@pytest.fixture
def live_worker(committed_db: None) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process consuming every queue, on the test database and broker."""
    with running_worker("-c", "2") as process:
        yield process


WORKER_START_SECONDS = 120


@contextmanager
def running_worker(*options: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start a Celery worker on every queue with these extra options and environment; wait for its ping."""
    queues = ",".join(settings.CELERY_TASK_QUEUES_NAMES)
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "askpro", "worker", "-Q", queues, *options,
         "-l", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=PROJECT_DIR, env={**worker_env(), **(env or {})},
    )
    from askpro.celery import app

    # A busy machine (2 cores, other suites beside this one) may take a minute to import Django
    # and start the pool: wait on the ping, generously, never on a fixed time.
    deadline = time.monotonic() + WORKER_START_SECONDS
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            break
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited during start-up")
    else:
        process.kill()
        process.wait(timeout=30)
        raise RuntimeError(f"the Celery worker did not answer a ping within {WORKER_START_SECONDS} s")
    try:
        yield process
    finally:
        stop_process(process)


# A cap only bounds how long a failing test hangs; it never measures speed. On a busy machine
# (the suite beside two CPU-bound processes, load 8 on 2 cores) a live worker's first task can take
# well over 15 s, so no wait gives up sooner than this.
WAIT_CAP_FLOOR_SECONDS = 120.0


def admin_action_names(actions: Any) -> list[str]:
    """The action names of an unfold ``actions_detail``/``actions_list`` (dropdown groups flattened)."""
    return [name for entry in actions or () for name in (entry["items"] if isinstance(entry, dict) else [entry])]


def stop_process(process: subprocess.Popen[Any], *, grace: float = 15, group: bool = False) -> None:
    """Stop a child the tests started: SIGTERM, up to ``grace`` seconds to exit cleanly, then
    SIGKILL (to its whole process group with ``group``: a server's own children too)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if group:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    elif process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def wait_for(predicate: Any, timeout: float = WAIT_CAP_FLOOR_SECONDS, interval: float = 0.1,
             what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail the test naming ``what``.
    ``timeout`` is a cap, raised to ``WAIT_CAP_FLOOR_SECONDS`` when smaller."""
    timeout = max(timeout, WAIT_CAP_FLOOR_SECONDS)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"{what} not met within {timeout} s")
