"""Conflicting bookings benchmark: how long a request waits when many want the same calendar.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/askpro_dev REDIS_URL=redis://127.0.0.1:6379/ \\
        .venv/bin/python -m benchmarks.bookings [--clients 50] [--rounds 5] [--staff 3] [--database NAME]

Uses its own fresh database (``--database``, default ``askpro_bench_bookings``, on DATABASE_URL's
server, or on the embedded servers without DATABASE_URL, like the other benchmarks), migrates it
and creates a tenant "Bench Bookings" with ``--staff`` hairdressers (Anna, Ben, Clara, Staff 4, ...).
Each round starts ``--clients`` threads (one connection each) behind a barrier, all calling
``book_appointment`` at once, in four scenarios:

- same slot: everyone wants Anna at 10:00 (1 booked, the rest SLOT_UNAVAILABLE);
- overlapping: everyone wants Anna at 10:00-10:25 in 5-minute steps (1 booked);
- any staff: everyone wants 10:00 with whoever is free (one booked per hairdresser);
- mixed: every other request wants 10:00 with whoever is free, the others a named hairdresser
  at 14:00 (round robin): bookings of different calendars, which an "any staff" request must not
  hold up (it locks only the calendar of the slot it writes);
- beside open: Anna's booking at 10:00 stays open in another transaction (until every request
  has answered, at most ``--hold`` seconds) while everyone else wants 10:00 with whoever is free.
  When "any staff" locked every candidate's calendar, all of them waited for that transaction.

It prints, per scenario, the outcomes and the wait of each request (call to answer): p50, p95,
p99 and max. The staff calendar locks (``appointments.locking``) make the requests queue, so the
p95 grows with the number of clients times one availability check; before them, losers of a
deadlock waited ``deadlock_timeout`` (1 s) and got an internal error. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from benchmarks._support import benchmark_tenant, percentile, setup_django, use_benchmark_database

PROJECT = Path(__file__).resolve().parent.parent
HOST = "bench-bookings.localhost"
DB_NAME = "askpro_bench_bookings"


def _prepare(staff_count: int) -> tuple[object, int, list[int]]:
    """Migrate, create the tenant and its hairdressers once; returns (tenant, service id, staff ids)."""
    from django_tenants.utils import tenant_context

    from appointments.models import Branch, Service, Staff, WorkingHour

    tenant = benchmark_tenant(name="Bench Bookings", slug="bench-bookings", domain=HOST)
    with tenant_context(tenant):
        service = Service.objects.filter(name="Haarschnitt").first()
        if service is None:
            branch = Branch.objects.create(name="Mitte", city="Berlin")
            service = Service.objects.create(name="Haarschnitt", duration_minutes=30, slot_interval_minutes=5,
                                             min_notice_minutes=0, max_advance_days=3650)
            names = ["Anna", "Ben", "Clara", *(f"Staff {n}" for n in range(4, staff_count + 1))]
            for name in names[:staff_count]:
                staff = Staff.objects.create(name=name)
                staff.branches.add(branch)
                staff.services.add(service)
                WorkingHour.objects.bulk_create(
                    WorkingHour(staff=staff, branch=branch, weekday=day, start_time=clock(8), end_time=clock(20))
                    for day in range(7)
                )
        staff_ids = sorted(Staff.objects.values_list("pk", flat=True))
    return tenant, service.pk, staff_ids


def _round(tenant: object, attempts: list[Callable[[], object]]) -> tuple[Counter[str], list[float], list[float]]:
    """Outcomes, the waits of all requests, the waits of the booked ones."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from appointments.errors import SlotUnavailable

    barrier = threading.Barrier(len(attempts))
    outcomes: Counter[str] = Counter()
    waits: list[float] = []
    booked: list[float] = []
    lock = threading.Lock()

    def run(attempt: Callable[[], object]) -> None:
        try:
            with tenant_context(tenant):
                connection.ensure_connection()
                barrier.wait(timeout=120)
                started = time.perf_counter()
                try:
                    attempt()
                    outcome = "booked"
                except SlotUnavailable as exc:
                    outcome = str(exc.code)
                except Exception as exc:
                    outcome = f"error {type(exc).__name__}"
                waited = time.perf_counter() - started
        finally:
            connection.close()
        with lock:
            outcomes[outcome] += 1
            waits.append(waited)
            if outcome == "booked":
                booked.append(waited)

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, waits, booked


def _round_beside_open_booking(
    tenant: object, hold: Callable[[], object], attempts: list[Callable[[], object]], cap: float
) -> tuple[Counter[str], list[float], list[float]]:
    """:func:`_round` while ``hold()`` has booked in another transaction that stays open until the
    round is over (at most ``cap`` seconds)."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    holding, over = threading.Event(), threading.Event()

    def keep_open() -> None:
        try:
            with tenant_context(tenant), transaction.atomic():
                hold()
                holding.set()
                over.wait(timeout=cap)
        finally:
            holding.set()
            connection.close()

    holder = threading.Thread(target=keep_open)
    holder.start()
    holding.wait(timeout=120)
    try:
        return _round(tenant, attempts)
    finally:
        over.set()
        holder.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--staff", type=int, default=3, help="hairdressers in the branch")
    parser.add_argument("--database", default=DB_NAME, help="the benchmark's own database (dropped first)")
    parser.add_argument("--only", default="", help="comma-separated scenarios to run (default: all)")
    parser.add_argument("--hold", type=float, default=5.0, help="seconds the open booking stays open at most")
    args = parser.parse_args()

    use_benchmark_database(args.database)  # without DATABASE_URL / REDIS_URL: the embedded servers
    os.environ.setdefault("ASKPRO_CACHE_PREFIX", "bench-bookings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    setup_django()
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from appointments.models import Appointment, Customer
    from appointments.services import book_appointment

    tenant, service_id, staff_ids = _prepare(args.staff)
    anna = staff_ids[0]
    with tenant_context(tenant):
        customers = [Customer.objects.get_or_create(name=f"Bench {n}")[0].pk for n in range(args.clients)]
    berlin = timezone.get_default_timezone()
    print(f"{args.clients} concurrent requests per round, {args.rounds} rounds per scenario, "
          f"{len(staff_ids)} hairdressers, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}; wait = call to answer of book_appointment")

    def book(customer_id: int, starts_at: datetime, staff_id: int | None) -> Callable[[], object]:
        return lambda: book_appointment(customer_id=customer_id, service_id=service_id, staff_id=staff_id,
                                        starts_at=starts_at, source="api", actor="api:bench")

    scenarios: dict[str, Callable[[datetime], list[Callable[[], object]]]] = {
        "same slot": lambda ten: [book(c, ten, anna) for c in customers],
        "overlapping": lambda ten: [book(c, ten + timedelta(minutes=5 * (n % 6)), anna) for n, c in enumerate(customers)],
        "any staff": lambda ten: [book(c, ten, None) for c in customers],
        "mixed": lambda ten: [
            book(c, ten, None) if n % 2 == 0 else book(c, ten + timedelta(hours=4), staff_ids[n // 2 % len(staff_ids)])
            for n, c in enumerate(customers)
        ],
    }
    first_day = date.today() + timedelta(days=30)
    only = set(filter(None, args.only.split(","))) or {*scenarios, "beside open"}
    for number, (name, attempts_for) in enumerate(scenarios.items()):
        if name not in only:
            continue
        outcomes: Counter[str] = Counter()
        waits: list[float] = []
        for round_number in range(args.rounds):
            day = first_day + timedelta(days=number * args.rounds + round_number)
            ten = datetime.combine(day, clock(10), tzinfo=berlin)
            with tenant_context(tenant):
                Appointment.objects.filter(starts_at__date=day).delete()
            found, waited, _booked = _round(tenant, attempts_for(ten))
            outcomes.update(found)
            waits.extend(waited)
        ms = [w * 1000 for w in waits]
        print(f"{name:12s} {dict(outcomes)}")
        print(f"{'':12s} wait p50 {percentile(ms, 50):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms  "
              f"p99 {percentile(ms, 99):7.1f} ms  max {max(ms):7.1f} ms  n={len(ms)}")
    outcomes, waits, booked = Counter(), [], []
    for round_number in range(args.rounds if "beside open" in only else 0):
        day = first_day + timedelta(days=len(scenarios) * args.rounds + round_number)
        ten = datetime.combine(day, clock(10), tzinfo=berlin)
        with tenant_context(tenant):
            Appointment.objects.filter(starts_at__date=day).delete()
        found, waited, booked_waited = _round_beside_open_booking(
            tenant, book(customers[0], ten, anna), [book(c, ten, None) for c in customers[1:]], args.hold
        )
        outcomes.update(found)
        waits.extend(waited)
        booked.extend(booked_waited)
    if waits:
        ms, booked_ms = [w * 1000 for w in waits], [w * 1000 for w in booked]
        print(f"{'beside open':12s} {dict(outcomes)} (Anna's booking held open up to {args.hold:.0f} s)")
        print(f"{'':12s} wait p50 {percentile(ms, 50):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms  "
              f"p99 {percentile(ms, 99):7.1f} ms  max {max(ms):7.1f} ms  n={len(ms)}")
        print(f"{'':12s} booked p50 {percentile(booked_ms, 50):7.1f} ms  p95 {percentile(booked_ms, 95):7.1f} ms  "
              f"max {max(booked_ms):7.1f} ms  n={len(booked_ms)} (the others wait for Anna's calendar: "
              f"it may still be given back)")
    print(f"load average after: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
