"""Back-office benchmark: server time of the calendar feed, the tenant dashboard and the
appointment list, at the demo data (1x) and with it multiplied tenfold (10x), against /api/health.

    .venv/bin/python -m benchmarks.admin [--requests 40]

Uses its own database (askpro_bench_admin) on the configured or embedded server (runs without
DATABASE_URL too). Requests go through Django's full stack in this process (middleware, tenant
resolution, session login, templates), so the figures are server time without the network.
The dashboard is measured uncached (``DASHBOARD_CACHE_SECONDS=0``), i.e. its worst case. Targets
(issue 12): calendar week of 20 staff with 1,000 appointments < 100 ms; dashboard at 10x < 150 ms.

Figures on the 2-core development machine, quiet (load 0.2-0.7), machine PostgreSQL 15, 30 requests:

                                         1x demo (847)        10x demo (8,470)
    /api/health                          p50   3.0  p95   3.4   p50   2.9  p95   3.9 ms
    calendar feed, day                   p50  10.4  p95  12.4   p50  19.3  p95  22.5 ms
    calendar feed, week                  p50  11.3  p95  12.9   p50  31.4  p95  48.6 ms
    tenant dashboard, uncached           p50  62.9  p95  73.3   p50  75.5  p95  81.2 ms
    tenant dashboard, figures cached     p50  48.5  p95  67.6   p50  36.9  p95  40.0 ms
    appointment list (100 rows a page)   p50 203.8  p95 306.0   p50 194.4  p95 251.6 ms
    calendar week, 20 staff, 1,000 appointments:  p50 25.8  p95 32.6 ms

The appointment list now shows 50 rows a page (114 ms at 10x, profiled: unfold renders the column
headers again for every row, and the action checkbox is a template-rendered widget per row).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, datetime, timedelta
from datetime import time as time_of
from typing import Any

from benchmarks._support import manage, percentile, setup_django, use_benchmark_database


def _measure(client: Any, path: str, requests: int, **params: Any) -> list[float]:
    response = client.get(path, params)  # warm up (templates, schedule snapshot)
    assert response.status_code == 200, (path, response.status_code, response.content[:300])
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path, params)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return latencies


def _line(label: str, values: list[float], health_p50: float) -> str:
    p50, p95 = percentile(values, 50) * 1000, percentile(values, 95) * 1000
    return f"  {label:<46} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  ({p50 / (health_p50 * 1000):5.1f}x health)"


def _bulk_appointments(rows: list[tuple[Any, Any, Any, Any, datetime, int, str]]) -> int:
    """Appointments with their segment, written in bulk: (customer, service, staff, branch, start,
    minutes, status)."""
    from appointments.models import Appointment, AppointmentSegment

    created = Appointment.objects.bulk_create([
        Appointment(customer=c, service=s, staff=st, branch=b, starts_at=start,
                    ends_at=start + timedelta(minutes=minutes), status=status, source="phone",
                    price_cents=s.price_cents)
        for c, s, st, b, start, minutes, status in rows
    ], batch_size=2000)
    AppointmentSegment.objects.bulk_create([
        AppointmentSegment(appointment=a, position=0, name=a.service.name, service=a.service, staff=a.staff,
                           starts_at=a.starts_at, ends_at=a.ends_at, blocked_from=a.starts_at,
                           blocked_until=a.ends_at, status=a.status)
        for a in created
    ], batch_size=2000)
    return len(created)


def _twenty_staff_week(monday: date) -> tuple[int, int]:
    """A branch with 20 staff and 1,000 appointments in the week of ``monday``."""
    from django.utils import timezone

    from appointments.models import Branch, Customer, Service, Staff, WorkingHour

    def berlin(day: date, hhmm: str) -> datetime:
        return datetime.combine(day, time_of.fromisoformat(hhmm), tzinfo=timezone.get_default_timezone())

    branch = Branch.objects.create(name="Benchmark 20")
    service = Service.objects.create(name="Bench 30", duration_minutes=30, price_cents=3000)
    customers = list(Customer.objects.all()[:200])
    staff = []
    for index in range(20):
        member = Staff.objects.create(name=f"Bench Staff {index:02d}")
        member.branches.add(branch)
        member.services.add(service)
        WorkingHour.objects.bulk_create(
            WorkingHour(staff=member, branch=branch, weekday=d, start_time=berlin(monday, "08:00").time(),
                        end_time=berlin(monday, "20:00").time()) for d in range(6))
        staff.append(member)
    rng = random.Random(20)  # noqa: S311 - benchmark data
    rows = []
    for member in staff:  # 50 per staff member: 8-9 a day on six days, half-hour grid
        for day in range(6):
            hours = rng.sample(range(16), 9 if day < 2 else 8)
            for slot in hours:
                start = berlin(monday + timedelta(days=day), "08:00") + timedelta(minutes=45 * slot)
                rows.append((rng.choice(customers), service, member, branch, start, 30, "confirmed"))
    return branch.pk, _bulk_appointments(rows)


def _multiply_demo(factor: int) -> int:
    """Add ``factor - 1`` copies of the demo's staff (same branches, hours, services) with exact
    copies of their appointments and segments, and ``factor - 1`` times the customers."""
    from appointments.models import Appointment, AppointmentSegment, Customer, Staff, WorkingHour

    originals = list(Staff.objects.exclude(name__startswith="Bench"))
    appointments = list(Appointment.objects.filter(staff__in=originals).prefetch_related("segments"))
    customers = list(Customer.objects.all())
    new_customers = Customer.objects.bulk_create([
        Customer(name=f"{c.name} {copy}", phone=f"+49160{copy}{n:07d}", source=c.source,
                 journey_status=c.journey_status)
        for copy in range(1, factor) for n, c in enumerate(customers)
    ], batch_size=2000)
    added = 0
    for copy in range(1, factor):
        clones = {}
        for original in originals:
            clone = Staff.objects.create(name=f"{original.name} ({copy + 1})")
            clone.branches.set(original.branches.all())
            clone.services.set(original.services.all())
            WorkingHour.objects.bulk_create(
                WorkingHour(staff=clone, branch_id=wh.branch_id, weekday=wh.weekday, start_time=wh.start_time,
                            end_time=wh.end_time, break_start=wh.break_start, break_end=wh.break_end)
                for wh in WorkingHour.objects.filter(staff=original))
            clones[original.pk] = clone
        created = Appointment.objects.bulk_create([
            Appointment(customer=new_customers[(a.customer_id * copy) % len(new_customers)], service_id=a.service_id,
                        staff=clones[a.staff_id], branch_id=a.branch_id, starts_at=a.starts_at, ends_at=a.ends_at,
                        status=a.status, source=a.source, price_cents=a.price_cents)
            for a in appointments
        ], batch_size=2000)
        AppointmentSegment.objects.bulk_create([
            AppointmentSegment(appointment=new, position=seg.position, name=seg.name, service_id=seg.service_id,
                               staff=clones[seg.staff_id], starts_at=seg.starts_at, ends_at=seg.ends_at,
                               blocked_from=seg.blocked_from, blocked_until=seg.blocked_until, status=seg.status)
            for new, a in zip(created, appointments, strict=True) for seg in a.segments.all()
        ], batch_size=2000)
        added += len(created)
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()

    use_benchmark_database("askpro_bench_admin")
    manage("migrate_schemas", "--shared", "-v", "0")
    setup_django()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    settings.DASHBOARD_CACHE_SECONDS = 0
    settings.DEBUG = False
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from appointments.models import Appointment, Branch
    from tenants import demo
    from tenants import services as tenant_services

    started = time.perf_counter()
    tenants = {t.slug: t for t in demo.seed(log=lambda _m: None)}
    salon = tenants["salon-schmidt"]
    print(f"demo seeded in {time.perf_counter() - started:.1f} s")
    tenant_services.create_tenant_user(salon, email="bench@salon.example", role="admin", password="bench-pass-1")
    client = Client(HTTP_HOST="salon-schmidt.localhost", HTTP_ACCEPT_LANGUAGE="de")
    with tenant_context(salon):
        client.force_login(get_user_model().objects.get(username="bench@salon.example"))
        mitte = Branch.objects.get(name="Mitte").pk
    health = Client(HTTP_HOST="localhost")
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    week = {"start": monday.isoformat(), "end": (monday + timedelta(days=7)).isoformat()}
    feed = "/admin/appointments/appointment/calendar/api/feed/"

    def round_of(label: str) -> None:
        health_times = _measure(health, "/api/health", args.requests)
        health_p50 = percentile(health_times, 50)
        with tenant_context(salon):
            count = Appointment.objects.count()
        print(f"\n{label}: {count} appointments in the salon")
        print(f"  {'/api/health':<46} p50 {health_p50 * 1000:7.2f} ms  p95 "
              f"{percentile(health_times, 95) * 1000:7.2f} ms")
        print(_line("calendar feed, day at Mitte", _measure(client, feed, args.requests, branch=mitte,
                                                                  start=today.isoformat()), health_p50))
        print(_line("calendar feed, week at Mitte", _measure(client, feed, args.requests, branch=mitte, **week),
                    health_p50))
        print(_line("tenant dashboard /admin/ (uncached)", _measure(client, "/admin/", args.requests), health_p50))
        settings.DASHBOARD_CACHE_SECONDS = 30
        print(_line("tenant dashboard /admin/ (figures cached 30 s)", _measure(client, "/admin/", args.requests),
                    health_p50))
        settings.DASHBOARD_CACHE_SECONDS = 0
        print(_line("appointment list", _measure(client, "/admin/appointments/appointment/", args.requests),
                    health_p50))

    round_of("1x demo")
    # Appointments and their segments in one transaction: a deferred trigger adds a default segment
    # to any appointment that has none at commit.
    with tenant_context(salon), transaction.atomic():
        added = _multiply_demo(10)
    print(f"\n(added {added} appointments: the demo x10)")
    round_of("10x demo")

    with tenant_context(salon), transaction.atomic():
        branch_id, count = _twenty_staff_week(monday)
    health_p50 = percentile(_measure(health, "/api/health", args.requests), 50)
    print(f"\nweek of 20 staff with {count} appointments (target < 100 ms):")
    print(_line("calendar feed, week, 20 staff", _measure(client, feed, args.requests, branch=branch_id, **week),
                health_p50))


if __name__ == "__main__":
    main()
