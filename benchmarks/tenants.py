"""Tenant scaling benchmark: creation, migrations over every schema, latency and memory at N tenants.

    .venv/bin/python -m benchmarks.tenants [--tenants 1000] [--standard]

Prints the creation median (template script and spare schema), the no-op ``migrate_schemas`` run
and a real one-column migration over every schema (a throw-away app whose migration adds a column
to a tenant table, applied and reverted), the tenant page latency at 1 and at N tenants (with all
N hosts served before, so the per-process caches are full) and the peak RSS of a web process
(Granian, after serving every tenant's host) and a Celery worker (after a task in every tenant).

Uses its own database (askpro_bench_tenants) on the configured or embedded server, and Redis
databases 11/12 (broker/cache) so that other benchmarks' workers never take its tasks.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks._support import (
    PROJECT_DIR,
    free_port,
    manage,
    percentile,
    setup_django,
    summary_ms,
    use_benchmark_database,
)

THROWAWAY_APP = "askpro_bench_throwaway"


def _tenant_page_latency(host: str, requests: int = 200) -> list[float]:
    from django.test import Client

    client = Client(HTTP_HOST=host)
    client.get("/admin/login/")  # warm up
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/admin/login/")
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return latencies


def _touch_every_host(count: int) -> None:
    """One request per tenant host in this process: the host cache and friends see N tenants."""
    from django.test import Client

    for index in range(1, count + 1):
        response = Client(HTTP_HOST=f"bench-{index}.localhost").get("/admin/login/")
        assert response.status_code == 200, (index, response.status_code)


def _create_range(indexes: list[int]) -> list[float]:
    from django.db import connections

    from tenants import services

    for connection in connections.all(initialized_only=True):
        connection.connection = None  # forked: never share the parent's socket
    timings = []
    for index in indexes:
        started = time.perf_counter()
        services.create_tenant(name=f"Bench {index}", slug=f"bench-{index}")
        timings.append(time.perf_counter() - started)
    from django.db import connection

    connection.close()
    return timings


def _create_many(indexes: list[int], processes: int) -> list[float]:
    """Bulk creation from the template script in ``processes`` forked processes."""
    from django.db import connections

    connections.close_all()
    parts = [indexes[n::processes] for n in range(processes)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return [timing for part in pool.map(_create_range, parts) for timing in part]


@contextmanager
def _throwaway_settings() -> Iterator[dict[str, str]]:
    """A settings module that adds an app whose one migration adds a column to a tenant table."""
    from django.db.migrations.loader import MigrationLoader

    leaf = next(name for app, name in MigrationLoader(None).graph.leaf_nodes() if app == "appointments")
    with tempfile.TemporaryDirectory(prefix="askpro-bench-") as folder:
        root = Path(folder)
        migrations = root / THROWAWAY_APP / "migrations"
        migrations.mkdir(parents=True)
        (root / THROWAWAY_APP / "__init__.py").write_text("")
        (migrations / "__init__.py").write_text("")
        (migrations / "0001_one_column.py").write_text(textwrap.dedent(f"""
            from django.db import migrations

            class Migration(migrations.Migration):
                dependencies = [("appointments", "{leaf}")]
                operations = [migrations.RunSQL(
                    "ALTER TABLE appointments_customer ADD COLUMN bench_note varchar(40) NULL",
                    "ALTER TABLE appointments_customer DROP COLUMN bench_note",
                )]
        """))
        (root / "askpro_bench_settings.py").write_text(textwrap.dedent(f"""
            from askpro.settings import *  # noqa
            TENANT_APPS = [*TENANT_APPS, "{THROWAWAY_APP}"]
            INSTALLED_APPS = [*INSTALLED_APPS, "{THROWAWAY_APP}"]
        """))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(root), str(PROJECT_DIR), env.get("PYTHONPATH", "")])
        env["DJANGO_SETTINGS_MODULE"] = "askpro_bench_settings"
        yield env


def _timed_manage(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, check=True, stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _column_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.columns WHERE column_name = 'bench_note'")
        return int(cursor.fetchone()[0])


def _peak_rss_mb(pid: int) -> tuple[float, float]:
    """Peak RSS (VmHWM) of ``pid`` and the largest of its children, in MB."""
    import psutil

    def hwm(process: psutil.Process) -> float:
        with open(f"/proc/{process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    parent = psutil.Process(pid)
    children = [hwm(child) for child in parent.children(recursive=True)]
    return hwm(parent), max(children, default=0.0)


def _web_rss(count: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Granian with one worker process: peak RSS after 1 host, then after every tenant's host."""
    import httpx

    from askpro.webserver import granian_command

    port = free_port()
    env = {**os.environ, "ASKPRO_WEB_WORKERS": "1"}
    process = subprocess.Popen(granian_command(port, workers=1), cwd=PROJECT_DIR, env=env)  # noqa: S603
    url = f"http://127.0.0.1:{port}/admin/login/"
    try:
        with httpx.Client(timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get(url, headers={"Host": "bench-1.localhost"}).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the web server did not come up")
                time.sleep(0.2)
            at_one = _peak_rss_mb(process.pid)
            for index in range(1, count + 1):
                response = client.get(url, headers={"Host": f"bench-{index}.localhost"})
                assert response.status_code == 200, (index, response.status_code)
            at_n = _peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return at_one, at_n


def _worker_rss(count: int) -> tuple[float, float]:
    """A Celery worker (one child): a probe task in every tenant; peak RSS once all are done."""
    import uuid

    from django.conf import settings
    from django.core.cache import cache
    from django_tenants.utils import tenant_context

    from askpro.celery import app
    from tenants.models import Tenant
    from tenants.tasks import record_task_probe

    app.control.purge()  # the creations' pool refills: the spares are not what is measured
    queues = ",".join(settings.CELERY_TASK_QUEUES_NAMES)
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "askpro", "worker", "-Q", queues, "-c", "1", "-l", "warning",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=PROJECT_DIR, env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 120
        while not app.control.ping(timeout=1):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the worker did not come up")
        probes = []
        for tenant in Tenant.objects.filter(slug__startswith="bench-"):
            with tenant_context(tenant):
                probe = uuid.uuid4().hex
                record_task_probe.delay(probe)
                probes.append((tenant, probe))
        deadline = time.monotonic() + 600
        pending = list(probes)
        while pending:
            tenant, probe = pending[-1]
            with tenant_context(tenant):
                done = cache.get(f"task-probe:{probe}") == tenant.schema_name
            if done:
                pending.pop()
                continue
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{len(pending)} probe tasks not done")
            time.sleep(0.2)
        return _peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _use_existing_database(name: str) -> None:
    from urllib.parse import urlparse, urlunparse

    from askpro.devsecrets import ensure_dev_secrets
    from askpro.embedded import ensure_services

    ensure_services()
    ensure_dev_secrets()
    os.environ["DATABASE_URL"] = urlunparse(urlparse(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askpro.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2, help="processes creating tenants in bulk")
    parser.add_argument("--reuse", action="store_true",
                        help="keep askpro_bench_tenants when it already holds --tenants tenants (made by an earlier "
                             "run): creation is then sampled (20 more tenants) and the page latency compares 1 and "
                             "N tenants served by this process")
    parser.add_argument("--standard", action="store_true",
                        help="also time django-tenants' standard no-op run (minutes at 1,000 schemas)")
    args = parser.parse_args()
    count = max(args.tenants, 21)

    os.environ.setdefault("ASKPRO_BROKER_REDIS_DB", "11")
    os.environ.setdefault("ASKPRO_CACHE_REDIS_DB", "12")
    os.environ.setdefault("ASKPRO_CACHE_PREFIX", "bench-tenants")
    if args.reuse:
        _use_existing_database("askpro_bench_tenants")
        shared = template_seconds = float("nan")
    else:
        use_benchmark_database("askpro_bench_tenants")
        shared = manage("migrate_schemas", "--shared", "-v", "0")
    setup_django()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    from tenants import schema_pool, services
    from tenants.models import Tenant

    if not args.reuse:
        services.ensure_public_tenant()
        started = time.perf_counter()
        services.ensure_template_tenant()
        template_seconds = time.perf_counter() - started

    creation: list[float] = []  # from the template's script (no spare ready)
    pooled: list[float] = []  # from a ready spare (a rename)

    def create(index: int | str, into: list[float]) -> None:
        started = time.perf_counter()
        services.create_tenant(name=f"Bench {index}", slug=f"bench-{index}")
        into.append(time.perf_counter() - started)

    schema_pool.drain()
    bulk: list[int] = []
    bulk_seconds = 0.0
    if args.reuse:
        existing = Tenant.objects.filter(slug__startswith="bench-").count()
        if existing < count:
            raise SystemExit(f"--reuse: askpro_bench_tenants holds {existing} bench tenants, not {count}")
        at_one = _tenant_page_latency("bench-1.localhost")  # this process has served 1 tenant
        tag = os.urandom(3).hex()
        for index in range(10):
            create(f"x{tag}-{index}", creation)
        last_script = creation[-10:]
        for index in range(10, 20):
            if not schema_pool.state().ready:
                schema_pool.refill(5)
            create(f"x{tag}-{index}", pooled)
    else:
        create(1, creation)
        at_one = _tenant_page_latency("bench-1.localhost")
        started = time.perf_counter()
        bulk = list(range(2, count - 39))
        creation += _create_many(bulk, args.processes) if bulk else []
        bulk_seconds = time.perf_counter() - started
        for index in range(max(count - 39, 2), count - 19):  # the script clone at full size
            create(index, creation)
        last_script = creation[-20:]
        for index in range(count - 19, count + 1):  # from the pool, refilled as the worker does
            if not schema_pool.state().ready:
                schema_pool.refill(5)
            create(index, pooled)
    schema_pool.drain()
    _touch_every_host(count)
    at_n = _tenant_page_latency("bench-1.localhost")

    schemas = Tenant.objects.exclude(schema_name="public").count()  # tenants and the template
    from django.db import connection

    connection.close()
    noop = manage("migrate_schemas", "-v", "0")
    noop_tenant = manage("migrate_schemas", "--tenant", "-v", "0")
    standard = manage("migrate_schemas", "--tenant", "--executor", "standard", "-v", "0") if args.standard else None
    with _throwaway_settings() as env:
        forward = _timed_manage(env, "migrate_schemas", "--tenant", "-v", "0")
        columns_after = _column_count()
        backward = _timed_manage(env, "migrate_schemas", "--tenant", THROWAWAY_APP, "zero", "-v", "0")
        columns_reverted = _column_count()
    startup = manage("check")  # the cost of starting Django, part of every figure above

    web_one, web_n = _web_rss(count)
    worker = _worker_rss(count)
    load = os.getloadavg()

    ratio = percentile(at_n, 50) / percentile(at_one, 50)
    print(f"\nTenant benchmark ({count} tenants, {settings.DATABASES['default']['NAME']}, "
          f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} cores)")
    print(f"  shared migrate:                  {shared:8.2f} s")
    print(f"  template schema (full migrate):  {template_seconds:8.2f} s")
    print(f"  tenant creation (template script) median: {statistics.median(creation) * 1000:8.1f} ms "
          f"(n={len(creation)}, last {len(last_script)}: {statistics.median(last_script) * 1000:.1f} ms; "
          f"bulk {len(bulk)} in {bulk_seconds:.0f} s with {args.processes} processes)")
    print(f"  tenant creation (spare schema) median at {count} tenants: "
          f"{statistics.median(pooled) * 1000:8.1f} ms (target < 500 ms)")
    print(f"  Django start-up (manage.py check): {startup:6.2f} s (included in each command below)")
    print(f"  migrate_schemas no-op (public + {schemas} schemas): {noop:8.2f} s (target < 60 s)")
    print(f"  migrate_schemas --tenant no-op ({schemas} schemas): {noop_tenant:8.2f} s")
    if standard is not None:
        print(f"  migrate_schemas --tenant no-op, django-tenants standard: {standard:8.2f} s")
    print(f"  one-column migration over {schemas} schemas: {forward:8.2f} s "
          f"({forward / schemas * 1000:.0f} ms a schema; target < 300 s), columns added: {columns_after}")
    print(f"  its revert (throw-away app to zero):   {backward:8.2f} s, columns left: {columns_reverted}")
    if args.reuse:
        print("  (--reuse: the page at 1 tenant = before this process served the other tenants' hosts)")
    print(f"  tenant page at 1 tenant:   {summary_ms(at_one)}")
    print(f"  tenant page at {count} tenants: {summary_ms(at_n)}")
    print(f"  page latency ratio {count}x / 1x (p50): {ratio:.2f} (target <= 1.1)")
    print(f"  web process peak RSS: {web_one[1]:.0f} MB after 1 host, {web_n[1]:.0f} MB after {count} hosts "
          f"(Granian main {web_n[0]:.0f} MB)")
    print(f"  worker peak RSS after a task in each of {count} tenants: child {worker[1]:.0f} MB, "
          f"main {worker[0]:.0f} MB")


if __name__ == "__main__":
    main()
