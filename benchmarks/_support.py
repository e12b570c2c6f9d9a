"""Shared helpers for benchmarks: a dedicated database, servers on free ports, percentiles."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

PROJECT_DIR = Path(__file__).resolve().parent.parent


def use_benchmark_database(name: str) -> str:
    """Point DATABASE_URL at a fresh database ``name`` on the configured (or embedded) server."""
    from askpro.embedded import ensure_services

    ensure_services()
    base = os.environ["DATABASE_URL"]
    import psycopg

    admin_url = urlunparse(urlparse(base)._replace(path="/postgres"))
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunparse(urlparse(base)._replace(path=f"/{name}"))
    from askpro.devsecrets import ensure_dev_secrets

    ensure_dev_secrets()  # benchmark subprocesses import settings, which only reads them
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askpro.settings")
    return url


def _libpq(url: str) -> str:
    # psycopg understands postgresql:// URLs including ?host=/socket/dir
    return url


def setup_django() -> None:
    import django

    from askpro.devsecrets import ensure_dev_secrets

    ensure_dev_secrets()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askpro.settings")
    django.setup()


def benchmark_tenant(*, name: str, slug: str, domain: str) -> object:
    """The benchmark's tenant on a migrated database (created on the first run, reused after)."""
    from django.core.management import call_command

    from tenants import services as tenant_services
    from tenants.models import Tenant

    call_command("migrate_schemas", verbosity=0)
    tenant_services.ensure_public_tenant()
    tenant_services.ensure_template_tenant()
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        tenant = tenant_services.create_tenant(name=name, slug=slug, domain=domain).tenant
    return tenant


def manage(*args: str, quiet: bool = True) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, check=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def web_server(host_header: str = "127.0.0.1") -> Iterator[str]:
    """Serve the app as in production (Granian, ``askpro.webserver``) on a free port; yields its URL."""
    import httpx

    from askpro.webserver import granian_command

    port = free_port()
    process = subprocess.Popen(granian_command(port), cwd=PROJECT_DIR, env=dict(os.environ))  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a busy 2-core machine may take a minute to import Django
    while True:
        try:
            if httpx.get(f"{url}/api/health", headers={"Host": host_header}, timeout=2).status_code < 500:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError("the web server did not come up")
        time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {percentile(ms, 50):7.2f} ms  p95 {percentile(ms, 95):7.2f} ms  "
        f"p99 {percentile(ms, 99):7.2f} ms  mean {statistics.fmean(ms):7.2f} ms  n={len(ms)}"
    )


def load_test(url: str, *, concurrency: int, requests: int, method: str = "GET",
              headers: dict[str, str] | None = None, body_factory=None) -> tuple[list[float], int]:  # type: ignore[no-untyped-def]
    """Fire ``requests`` requests from ``concurrency`` threads; returns latencies and error count."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    latencies: list[float] = []
    errors = 0

    def worker(count: int) -> tuple[list[float], int]:
        local, failed = [], 0
        with httpx.Client(timeout=10, headers=headers or {}) as client:
            for i in range(count):
                body = body_factory(i) if body_factory else None
                started = time.perf_counter()
                response = client.request(method, url, content=body)
                local.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    failed += 1
        return local, failed

    per_worker = [requests // concurrency] * concurrency
    with ThreadPoolExecutor(concurrency) as pool:
        for local, failed in pool.map(worker, per_worker):
            latencies.extend(local)
            errors += failed
    return latencies, errors
