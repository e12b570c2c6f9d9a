"""Tenant scaling benchmark: creation time, no-op migrations, request latency at 1 vs N tenants.

    .venv/bin/python -m benchmarks.tenants [--tenants 100]

Uses its own database (askpro_bench_tenants) on the configured or embedded server.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks._support import manage, setup_django, summary_ms, use_benchmark_database


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tenants", type=int, default=100)
    args = parser.parse_args()

    use_benchmark_database("askpro_bench_tenants")
    shared = manage("migrate_schemas", "--shared", "-v", "0")
    setup_django()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    from tenants import services

    services.ensure_public_tenant()
    started = time.perf_counter()
    services.ensure_template_tenant()
    template_seconds = time.perf_counter() - started

    from tenants import schema_pool

    creation: list[float] = []  # from the template's script (no spare ready)
    pooled: list[float] = []  # from a ready spare (a rename)

    def create(index: int, into: list[float]) -> None:
        started = time.perf_counter()
        services.create_tenant(name=f"Bench {index}", slug=f"bench-{index}")
        into.append(time.perf_counter() - started)

    schema_pool.drain()
    create(1, creation)
    at_one = _tenant_page_latency("bench-1.localhost")
    for index in range(2, args.tenants - 19):
        create(index, creation)
    # The last 20 at full size: the script clone, then from the pool (refilled between batches,
    # as the worker does after each creation).
    last_script = creation[-20:]
    for index in range(max(args.tenants - 19, 2), args.tenants + 1):
        if not schema_pool.state().ready:
            schema_pool.refill(5)
        create(index, pooled)
    at_n = _tenant_page_latency("bench-1.localhost")
    noop_standard = manage("migrate_schemas", "-v", "0")
    noop_parallel = manage("migrate_schemas", "--executor", "multiprocessing", "-v", "0")

    print(f"\nTenant benchmark ({args.tenants} tenants, {settings.DATABASES['default']['NAME']})")
    print(f"  shared migrate:                  {shared:8.2f} s")
    print(f"  template schema (full migrate):  {template_seconds:8.2f} s")
    print(f"  tenant creation (template script) median: {statistics.median(creation) * 1000:8.1f} ms "
          f"(min {min(creation) * 1000:.1f}, max {max(creation) * 1000:.1f}; last 20: "
          f"{statistics.median(last_script) * 1000:.1f} ms)")
    print(f"  tenant creation (spare schema) median at {args.tenants} tenants: "
          f"{statistics.median(pooled) * 1000:8.1f} ms (target < 500 ms)")
    print(f"  migrate_schemas no-op, standard: {noop_standard:8.2f} s over {args.tenants + 2} schemas")
    print(f"  migrate_schemas no-op, multiprocessing: {noop_parallel:8.2f} s")
    print(f"  tenant page at 1 tenant:   {summary_ms(at_one)}")
    print(f"  tenant page at {args.tenants} tenants: {summary_ms(at_n)}")


if __name__ == "__main__":
    main()
