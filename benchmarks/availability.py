"""Availability benchmark: slot search in process, and the HTTP endpoint under 20 clients.

    [DATABASE_URL=postgresql://postgres@127.0.0.1:5432/askpro_dev REDIS_URL=redis://127.0.0.1:6379/] \\
        .venv/bin/python -m benchmarks.availability

Uses its own database (``<name>_bench_availability`` next to DATABASE_URL's), creates it,
migrates it and fills a tenant "Bench Salon" with 20 staff and 1,000 appointments over the next
14 days. Then it measures ``find_slots`` for 14 days x 20 staff in this process, starts the web
server (Granian, as in production) on a free port, and fires ``POST /api/v2/availability/simple``
and ``GET /api/health`` from 20 concurrent clients (one API key each, within the real per-key
throttle of 60/min).

Targets: slot search under 20 ms; availability p95 within 3x of health p95.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from askpro import webserver
from benchmarks._support import benchmark_tenant, web_server

PROJECT = Path(__file__).resolve().parent.parent
HOST = "bench-salon.localhost"
CLIENTS = 20
REQUESTS_PER_CLIENT = 40  # 40 per key and minute stays under the 60/min availability limit
SEARCH_RUNS = 60


def _bench_database_url() -> str:
    from askpro.embedded import ensure_services

    ensure_services()  # without DATABASE_URL / REDIS_URL: the embedded servers, as `make run` uses
    base = os.environ["DATABASE_URL"]
    parsed = urlparse(base)
    name = (parsed.path.lstrip("/") or "askpro") + "_bench_availability"
    return urlunparse(parsed._replace(path=f"/{name}"))


def _ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askpro.settings")
    os.environ.setdefault("ASKPRO_CACHE_PREFIX", "bench-availability")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def _prepare() -> tuple[int, list[str]]:
    """Migrate, create the bench tenant and its data once; returns (service id, API keys)."""
    from django.db import transaction
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from appointments.api_keys import create_api_key
    from appointments.models import (
        ApiKey,
        Appointment,
        AppointmentSegment,
        Branch,
        Customer,
        Service,
        Staff,
        WorkingHour,
    )

    tenant = benchmark_tenant(name="Bench Salon", slug="bench-salon", domain=HOST)
    with tenant_context(tenant):
        service = Service.objects.filter(name="Haarschnitt").first()
        if service is None:
            branch = Branch.objects.create(name="Mitte", city="Berlin")
            service = Service.objects.create(name="Haarschnitt", duration_minutes=30, buffer_after_minutes=5,
                                             min_notice_minutes=60, slot_interval_minutes=15)
            for n in range(20):
                staff = Staff.objects.create(name=f"Stylist {n + 1}")
                staff.branches.add(branch)
                staff.services.add(service)
                WorkingHour.objects.bulk_create(
                    WorkingHour(staff=staff, branch=branch, weekday=day, start_time="09:00", end_time="18:00",
                                break_start="12:30", break_end="13:00")
                    for day in range(6)
                )
        # 1,000 appointments in the next 14 days, refreshed so they stay ahead of "now"
        AppointmentSegment.objects.all().delete()
        Appointment.objects.all().delete()
        customer, _created = Customer.objects.get_or_create(name="Bench Kunde", phone="+4915100000000")
        branch = Branch.objects.get(name="Mitte")
        staff_ids = list(Staff.objects.values_list("id", flat=True))
        rng = random.Random(3)  # noqa: S311
        today = timezone.localdate()
        taken: set[tuple[int, datetime]] = set()
        rows = []
        while len(rows) < 1000:
            day = today + timedelta(days=rng.randint(1, 14))
            if day.weekday() == 6:
                continue
            start = datetime.combine(day, datetime.min.time(), tzinfo=branch.tzinfo) + timedelta(
                hours=9, minutes=45 * rng.randint(0, 11))
            staff_id = rng.choice(staff_ids)
            if (staff_id, start) in taken:
                continue
            taken.add((staff_id, start))
            rows.append(Appointment(customer=customer, service=service, staff_id=staff_id, branch=branch,
                                    starts_at=start, ends_at=start + timedelta(minutes=30)))
        with transaction.atomic():  # segments in the same transaction, before the deferred trigger looks
            created = Appointment.objects.bulk_create(rows)
            AppointmentSegment.objects.bulk_create(
                AppointmentSegment(appointment=a, service=service, staff_id=a.staff_id, starts_at=a.starts_at,
                                   ends_at=a.ends_at, blocked_from=a.starts_at,
                                   blocked_until=a.ends_at + timedelta(minutes=5), status=a.status)
                for a in created
            )
        ApiKey.objects.all().delete()
        keys = [create_api_key(name=f"bench {n}", actor="bench")[1] for n in range(CLIENTS)]
    return service.pk, keys


def _search(service_id: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from appointments.services import find_slots
    from tenants.models import Tenant

    tenant = Tenant.objects.get(slug="bench-salon")
    today = timezone.localdate()
    with tenant_context(tenant):
        find_slots(service_id=service_id, date_from=today, date_to=today + timedelta(days=13))  # warm up
        timings = []
        for _ in range(SEARCH_RUNS):
            started = time.perf_counter()
            slots = find_slots(service_id=service_id, date_from=today, date_to=today + timedelta(days=13))
            timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            find_slots(service_id=service_id, date_from=today, date_to=today + timedelta(days=13))
    timings.sort()
    print("In process: find_slots, 14 days x 20 staff, 1,000 appointments")
    print(f"  slots found {len(slots)}, staff-slot pairs {sum(len(s.staff_ids) for s in slots)}, "
          f"queries {len(queries)}")
    print(f"  median {statistics.median(timings):.1f} ms, p95 {timings[int(len(timings) * 0.95) - 1]:.1f} ms, "
          f"min {timings[0]:.1f} ms   (target < 20 ms)")


def _percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[max(0, int(len(values) * 0.95) - 1)]


def _http(service_id: int, keys: list[str]) -> None:
    import httpx

    os.environ.update(DEBUG="0", LOG_LEVEL="WARNING")
    with web_server(host_header=HOST) as base:
        day = (datetime.now() + timedelta(days=3)).date()
        if day.weekday() == 6:
            day += timedelta(days=1)
        body = {"date": day.isoformat(), "service_id": service_id}

        def client(key: str, kind: str) -> tuple[list[float], list[int]]:
            timings, statuses = [], []
            with httpx.Client(base_url=base, headers={"Host": HOST, "Authorization": f"Bearer {key}"},
                              timeout=30) as http:
                for _ in range(REQUESTS_PER_CLIENT):
                    started = time.perf_counter()
                    if kind == "health":
                        response = http.get("/api/health")
                    else:
                        response = http.post("/api/v2/availability/simple", json=body)
                    timings.append((time.perf_counter() - started) * 1000)
                    statuses.append(response.status_code)
            return timings, statuses

        results = {}
        for kind in ("health", "availability", "health"):
            started = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                outcomes = list(pool.map(lambda key, kind=kind: client(key, kind), keys))
            elapsed = time.perf_counter() - started
            timings = [t for ts, _s in outcomes for t in ts]
            statuses = [s for _t, ss in outcomes for s in ss]
            results[kind] = (timings, statuses, elapsed)  # health runs twice: the second, warm run counts
        print(f"HTTP: Granian {webserver.WORKERS} workers x {webserver.BLOCKING_THREADS} threads, {CLIENTS} concurrent clients x {REQUESTS_PER_CLIENT} requests")
        for kind, path in (("health", "GET /api/health"), ("availability", "POST /api/v2/availability/simple")):
            timings, statuses, elapsed = results[kind]
            p50, p95 = _percentiles(timings)
            bad = len([s for s in statuses if s != 200])
            print(f"  {path:36} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {len(timings) / elapsed:6.0f} req/s"
                  f"  non-200: {bad}")
        ratio = _percentiles(results["availability"][0])[1] / _percentiles(results["health"][0])[1]
        print(f"  availability p95 / health p95 = {ratio:.2f}   (target <= 3)")


def main() -> None:
    url = _bench_database_url()
    _ensure_database(url)
    _setup_django(url)
    service_id, keys = _prepare()
    _search(service_id)
    _http(service_id, keys)


if __name__ == "__main__":
    main()
