"""Voice-agent benchmark: Retell function calls under 20 concurrent simulated calls.

    [DATABASE_URL=postgresql://postgres@127.0.0.1:5432/askpro_dev REDIS_URL=redis://127.0.0.1:6379/] \\
        .venv/bin/python -m benchmarks.voice [--calls 20] [--checks 30] [--bookings 5]

Creates its own database (askpro_bench_voice), migrates it and loads the demo data (Salon Schmidt
with two branches, four staff, weeks of appointments; the demo routing +49 30 12345678). Then it
counts the queries of one check-availability in process, starts the web server as in production
(Granian, ``askpro.webserver``) on a free port and runs, one phase after the other, from
``--calls`` concurrent simulated calls (each its own ``call_id`` and caller number, keep-alive
connection):

1. ``GET /api/health`` (warm-up; the second run is reported),
2. ``POST /api/retell/check-availability`` (``--checks`` per call; services, days, times vary),
3. ``POST /api/retell/book-appointment`` (``--bookings`` per call on the call's own days, each
   after a check: the offered time or the first alternative; a SLOT_UNAVAILABLE answer with
   alternatives would be counted, not an error),

all on the platform URL with valid signatures, routed by the dialled number as in production.

Targets: check-availability p95 < 50 ms and within 3x of the health endpoint's p95; book-appointment p95
< 100 ms in the paced run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from askpro import webserver
from benchmarks._support import PROJECT_DIR, percentile, use_benchmark_database, web_server

DB_NAME = "askpro_bench_voice"
RETELL_KEY = "key_bench_voice"
SALON_NUMBER = "+493012345678"
SERVICES = ("Haarschnitt Herren", "Haarschnitt Damen", "Bartpflege")
TIMES = ("09:00", "10:30", "11:15", "14:00", "15:45", "17:00")


def _prepare_environment() -> None:
    use_benchmark_database(DB_NAME)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "askpro.settings",
        "RETELL_API_KEY": RETELL_KEY,
        "RETELL_RATE_LIMIT_PER_MINUTE": "100",
        "ASKPRO_BROKER_REDIS_DB": "11",
        "ASKPRO_CACHE_REDIS_DB": "12",
        "ASKPRO_CACHE_PREFIX": "bench-voice",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "0",
    })
    import redis

    for db in (11, 12):
        redis.Redis.from_url(os.environ["REDIS_URL"], db=db).flushdb()


def _setup_data() -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "migrate_schemas", "--shared", "-v", "0"], cwd=PROJECT_DIR, check=True)
    subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=PROJECT_DIR, check=True, stdout=subprocess.DEVNULL)
    print(f"Setup: migrated {DB_NAME} and loaded the demo data in {time.perf_counter() - started:.1f} s")


def _signed(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    from integrations.signatures import sign_retell

    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return raw, {"Content-Type": "application/json", "X-Retell-Signature": sign_retell(raw, RETELL_KEY)}


def _call(call_id: str, caller: str) -> dict[str, Any]:
    return {"call_type": "phone_call", "call_id": call_id, "agent_id": "agent_bench", "direction": "inbound",
            "from_number": caller, "to_number": SALON_NUMBER, "call_status": "ongoing"}


def _check_args(index: int, n: int) -> dict[str, Any]:
    day = dt.date.today() + dt.timedelta(days=1 + (index * 7 + n) % 21)
    return {"service": SERVICES[(index + n) % len(SERVICES)], "date": day.isoformat(),
            "time": TIMES[(index + n * 5) % len(TIMES)]}


def _query_count() -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    raw, headers = _signed({"name": "check_availability", "args": _check_args(0, 0),
                            "call": _call("call_bench_queries", "+4915199999999")})
    client.post("/api/retell/check-availability", data=raw, content_type="application/json",
                HTTP_X_RETELL_SIGNATURE=headers["X-Retell-Signature"])  # warm caches
    raw, headers = _signed({"name": "check_availability", "args": _check_args(1, 1),
                            "call": _call("call_bench_queries", "+4915199999999")})
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/retell/check-availability", data=raw, content_type="application/json",
                               HTTP_X_RETELL_SIGNATURE=headers["X-Retell-Signature"])
    print(f"In process: one check-availability on the platform URL = {len(queries)} SQL queries "
          f"(HTTP {response.status_code}, available={response.json().get('available')})")


def _run(base: str, calls: int, per_call: int, work: Any, think: float) -> tuple[list[float], dict[str, int], float]:
    import httpx

    def one_call(index: int) -> tuple[list[float], dict[str, int]]:
        timings: list[float] = []
        outcomes: dict[str, int] = {}
        pause = random.Random(index)  # noqa: S311
        with httpx.Client(base_url=base, timeout=30) as http:
            for n in range(per_call):
                if think:
                    time.sleep(pause.uniform(0.5, 1.5) * think)  # the caller and the LLM talk meanwhile
                for elapsed, outcome in work(http, index, n):
                    timings.append(elapsed)
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return timings, outcomes

    started = time.perf_counter()
    with ThreadPoolExecutor(calls) as pool:
        results = list(pool.map(one_call, range(calls)))
    wall = time.perf_counter() - started
    timings = [t for ts, _o in results for t in ts]
    outcomes: dict[str, int] = {}
    for _t, found in results:
        for key, count in found.items():
            outcomes[key] = outcomes.get(key, 0) + count
    return timings, outcomes, wall


def _timed(http: Any, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[float, Any]:
    if body is None:
        started = time.perf_counter()
        response = http.request(method, path)
        return time.perf_counter() - started, response
    raw, headers = _signed(body)
    started = time.perf_counter()
    response = http.request(method, path, content=raw, headers=headers)
    return time.perf_counter() - started, response


def _outcome(response: Any) -> str:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.json()
    if body.get("success") is False:
        return body.get("error", {}).get("code", "refused")
    return "ok"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--checks", type=int, default=30)
    parser.add_argument("--bookings", type=int, default=5)
    parser.add_argument("--think-ms", type=int, default=1000,
                        help="mean pause between a call's requests in the paced run (LLM and speech)")
    options = parser.parse_args()
    _prepare_environment()  # the configured servers, or the embedded ones without DATABASE_URL
    _setup_data()
    _query_count()

    def health(http: Any, index: int, n: int) -> list[tuple[float, str]]:
        elapsed, response = _timed(http, "GET", "/api/health")
        return [(elapsed, "ok" if response.status_code == 200 else f"HTTP {response.status_code}")]

    def check(http: Any, index: int, n: int) -> list[tuple[float, str]]:
        body = {"name": "check_availability", "args": _check_args(index, n),
                "call": _call(f"call_bench_check_{index}", f"+49151{index + 1:08d}")}
        elapsed, response = _timed(http, "POST", "/api/retell/check-availability", body)
        return [(elapsed, _outcome(response))]

    def book(http: Any, index: int, n: int) -> list[tuple[float, str]]:
        call = _call(f"call_bench_book_{index}", f"+49152{index + 1:08d}")
        # each call books on its own days (callers rarely want the very same minute)
        day = dt.date.today() + dt.timedelta(days=1 + (index * options.bookings + n) % 84)
        args = {"service": SERVICES[(index + n) % len(SERVICES)], "date": day.isoformat(), "time": TIMES[n % len(TIMES)]}
        _elapsed, response = _timed(http, "POST", "/api/retell/check-availability",
                                    {"name": "check_availability", "args": args, "call": call})
        found = response.json()
        offer = found.get("slot") or (found.get("alternatives") or [None])[0]
        if offer is None:
            return []
        body = {"name": "book_appointment", "call": call,
                "args": {"service": args["service"], "date": offer["starts_at"], "name": f"Bench Anrufer {index}"}}
        elapsed, response = _timed(http, "POST", "/api/retell/book-appointment", body)
        return [(elapsed, _outcome(response))]

    think = options.think_ms / 1000
    runs = (
        # name, label, work, requests per call, pause: paced = calls as they happen, saturated = no pauses
        ("warm-up", None, health, 10, 0.0),
        ("paced health", "GET /api/health", health, options.checks, think),
        ("paced check", "POST /api/retell/check-availability", check, options.checks, think),
        ("paced book", "POST /api/retell/book-appointment", book, options.bookings, think),
        ("saturated health", "GET /api/health", health, options.checks, 0.0),
        ("saturated check", "POST /api/retell/check-availability", check, options.checks, 0.0),
    )
    results: dict[str, tuple[list[float], dict[str, int], float]] = {}
    with web_server() as base:
        for name, _label, work, per_call, pause in runs:
            results[name] = _run(base, options.calls, per_call, work, pause)
    print(f"HTTP: Granian {webserver.WORKERS} workers x {webserver.BLOCKING_THREADS} threads, {options.calls} concurrent simulated calls, platform URL "
          "routed by the dialled number, signed requests")
    for name, label, _work, _per_call, _pause in runs:
        if label is None:
            continue
        if name.startswith("paced") and name.endswith("health"):
            print(f" paced: each call pauses {options.think_ms / 2:.0f}-{options.think_ms * 1.5:.0f} ms between "
                  "requests (the conversation)")
        if name == "saturated health":
            print(" saturated: no pauses, every call fires its next request at once (stress, not a real call)")
        timings, outcomes, wall = results[name]
        ms = [t * 1000 for t in timings]
        print(f"  {label:38} p50 {percentile(ms, 50):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms  "
              f"p99 {percentile(ms, 99):6.1f} ms  {len(ms) / wall:5.0f} req/s  n={len(ms)}  "
              + ", ".join(f"{key}: {count}" for key, count in sorted(outcomes.items())))
    for mode in ("paced", "saturated"):
        health_p95 = percentile([t * 1000 for t in results[f"{mode} health"][0]], 95)
        check_p95 = percentile([t * 1000 for t in results[f"{mode} check"][0]], 95)
        print(f" {mode}: check-availability p95 {check_p95:.1f} ms (target < 50 ms), "
              f"{check_p95 / health_p95:.2f}x health p95 (target <= 3x)")
    book_timings, book_outcomes, _wall = results["paced book"]
    refused = sum(count for key, count in book_outcomes.items() if key != "ok")
    print(f" paced: book-appointment p95 {percentile([t * 1000 for t in book_timings], 95):.1f} ms (target < 100 ms), "
          f"{book_outcomes.get('ok', 0)} booked, {refused} refused or failed")


if __name__ == "__main__":
    main()
