"""Webhook inbox benchmark: ingest throughput and latency, then end-to-end processing throughput.

    .venv/bin/python -m benchmarks.webhooks [--events 4000] [--senders 20] [--e2e-events 1000]

1. Ingest: ``POST /webhooks/retell`` with valid signatures from 20 concurrent keep-alive senders
   against the web server as ``make run`` and the Dockerfile run it (Granian, ``askpro.webserver``)
   on a free port: events/s, p50/p99 latency. Each request takes the real path: the lean front (``integrations.ingest``)
   verifies, stores the event with one INSERT and raises the dispatch flag; the request that
   raises it queues one ``dispatch_webhooks`` task. No worker runs in this part (as before), so
   the flag stays up and the run publishes a single task; with a worker draining, the web side
   publishes one dispatcher task per dispatcher run instead.
2. End to end: signed Cal.com PINGs to ``/api/calcom/webhook/<slug>`` (the lean front since
   issue 18: tenant by slug, its secret in one statement, the INSERT) with a Celery worker
   (concurrency 2) running; events/s from the first request until every event is processed by the
   real PING handler in the tenant schema, through the dispatcher and ``process_webhooks`` on its
   queue. Also printed: the intake rate of that phase, how many dispatcher claims the burst took,
   and the CPU seconds used during it by the web server, the worker (main and pool processes) and
   this process (senders and the completion poll, one ``exists()`` every 50 ms), per event. The
   CPU split shows where the two cores go; PostgreSQL's and Redis's own CPU is not in it.

Figures on the 2-core development machine (shared with other work, so they vary by run):

    Django view, one Celery publish per event, gunicorn    188 events/s    p50 103 ms  p99 175 ms
    lean front + dispatch flag, gunicorn gthread 2x8        475-685/s      p50 26-40   p99 60-83
    the same under Granian 2x4 (askpro/webserver.py)        880-1,100/s    p50 15-20   p99 43-51
    + no health-check ping on a kept connection             1,216-1,868/s  p50 9-14    p99 20-34

Target: >= 500 events/s and p99 < 50 ms. Per request the lean path costs about 0.7 ms of server
CPU in process (two round trips: the INSERT and the Redis flag).

End to end (target >= 500 events/s): 40-60 events/s while Celery's Django fixup opened a new
PostgreSQL connection for every task, 126-164 events/s since tasks keep their connection
(``askpro.celery``, ``CELERY_DB_REUSE_MAX``). Issue 18 (2026-12-04, machine shared with five other
engineers, load average 4-10) measured and cut both sides:

    worker, in process (process_events on 500 stored PINGs, batches of 50):
      per event its own transaction, advisory lock, row lock,        6.5-13 ms/event, 11 statements
      schema switch there and back, outcome UPDATE
      one transaction per batch, locks in one statement, a           1.8-2.0 ms/event, 3.1 statements
      savepoint per event, schema switched once per tenant run,
      outcomes in one UPDATE ... FROM (VALUES ...)
    Cal.com intake: Django view 6 statements; lean front 3 (tenant by slug, secret, INSERT)
    e2e, main vs this branch back to back at load 6: 43 -> 92 events/s; CPU per event web 6.1 -> 3.5 ms,
      worker 6.0 -> 3.0 ms; again at load 0.8-2.9: 100 -> 137 events/s, web 6.8 -> 4.8, worker 7.6 -> 5.4 ms
    e2e at load 0.8-2 (ingest 831/s in the same run): 165 events/s, intake 247/s (last answer
      at 4.1 s, last event processed at 6.0 s); CPU per event web 3.8 ms, worker 4.5 ms
    with PROCESS_BATCH_SPREAD 2 instead of 4 (one run, load 4-5): 160 events/s, worker 2.0 ms
      CPU/event; not kept because tests/integrations/test_inbox_dispatch.py pins the split of 4

With the worker's per-event cost down, the dispatch fragments: idle workers run the dispatcher on
almost every flag, so 1,000 events took 95 claims of ~10 events, i.e. tasks of ~3 events, whose
fixed cost (Celery message, claim, lock, load, two schema switches, outcome UPDATE, commit)
dominates the worker's 4.5 ms CPU per event; the web side spends 3.8 ms CPU per Cal.com delivery.
>= 500 events/s was NOT reached. Next levers: fewer, larger tasks (a spread of 2 or a short
dispatch countdown so a burst accumulates), and the web side's per-request cost.

Uses its own database (askpro_bench_webhooks) and Redis databases 9/10; the per-IP rate limit is
switched off because every request comes from 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._support import use_benchmark_database, web_server

PROJECT_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "askpro_bench_webhooks"
RETELL_KEY = "key_bench_retell"
CALCOM_SECRET = "bench-calcom-secret"


def _prepare_environment() -> None:
    use_benchmark_database(DB_NAME)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "askpro.settings",
        "RETELL_API_KEY": RETELL_KEY,
        "WEBHOOK_RATE_LIMIT_PER_MINUTE": "0",
        "ASKPRO_BROKER_REDIS_DB": "9",
        "ASKPRO_CACHE_REDIS_DB": "10",
        "ASKPRO_CACHE_PREFIX": "bench-webhooks",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "0",
    })
    import redis

    for db in (9, 10):
        redis.Redis.from_url(os.environ["REDIS_URL"], db=db).flushdb()


def _setup_data() -> None:
    subprocess.run([sys.executable, "manage.py", "migrate_schemas", "--shared", "-v", "0"], cwd=PROJECT_DIR, check=True)
    import django

    django.setup()
    from django_tenants.utils import tenant_context

    from integrations.calcom.models import CalcomConnection
    from tenants import services

    services.ensure_public_tenant()
    services.ensure_template_tenant()
    tenant = services.create_tenant(name="Bench Salon", slug="bench-salon").tenant
    with tenant_context(tenant):
        CalcomConnection.objects.create(webhook_secret=CALCOM_SECRET)


def _request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *[f"{k}: {v}" for k, v in headers.items()], "", ""]
    return "\r\n".join(lines).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _sender(port: int, requests: list[bytes], latencies: list[float], statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for request in requests:
        started = time.perf_counter()
        writer.write(request)
        status = await _read_response(reader)
        latencies.append(time.perf_counter() - started)
        statuses.append(status)
    writer.close()


async def _load(port: int, requests: list[bytes], senders: int) -> tuple[float, list[float], list[int]]:
    latencies: list[float] = []
    statuses: list[int] = []
    chunks = [requests[i::senders] for i in range(senders)]
    started = time.perf_counter()
    await asyncio.gather(*(_sender(port, chunk, latencies, statuses) for chunk in chunks))
    return time.perf_counter() - started, latencies, statuses


def _retell_requests(count: int, run: str) -> list[bytes]:
    from integrations.signatures import sign_retell

    requests = []
    for i in range(count):
        body = json.dumps({"event": "call_ended", "call": {"call_id": f"call_{run}_{i}", "agent_id": "agent_bench",
                                                           "call_status": "ended", "duration_ms": 93000}}).encode()
        requests.append(_request("/webhooks/retell", body, {"X-Retell-Signature": sign_retell(body, RETELL_KEY)}))
    return requests


def _calcom_requests(count: int) -> list[bytes]:
    from integrations.signatures import sign_calcom

    requests = []
    for i in range(count):
        body = json.dumps({"triggerEvent": "PING", "createdAt": f"2026-03-01T10:00:00.{i:06d}Z",
                           "payload": {"type": "Test", "title": "Test trigger event"}}).encode()
        requests.append(_request("/api/calcom/webhook/bench-salon", body,
                                 {"X-Cal-Signature-256": sign_calcom(body, CALCOM_SECRET)}))
    return requests


def _cpu_by_role() -> dict[str, float]:
    """CPU seconds (user + system) used so far by this benchmark's process tree, by role: the web
    server (Granian), the Celery worker (main and pool processes) and this process (the senders)."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    used = {"web": 0.0, "worker": 0.0, "sender": cpu.get(os.getpid(), 0.0)}
    for pid in cpu:
        ancestor, role = pid, ""
        while ancestor in parents and ancestor != os.getpid():
            try:
                command = (Path("/proc") / str(ancestor) / "cmdline").read_bytes()
            except OSError:
                command = b""
            role = "worker" if b"celery" in command else "web" if b"granian" in command else role
            ancestor = parents[ancestor]
        if ancestor == os.getpid() and role:
            used[role] += cpu[pid]
    return used


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--e2e-events", type=int, default=1000)
    args = parser.parse_args()

    _prepare_environment()
    _setup_data()
    with web_server() as url:
        _measure(int(url.rsplit(":", 1)[1]), args)


def _measure(port: int, args: argparse.Namespace) -> None:
    from django.utils import timezone

    from integrations.models import WebhookEvent

    asyncio.run(_load(port, _retell_requests(200, "warmup"), args.senders))  # warm both workers
    elapsed, latencies, statuses = asyncio.run(_load(port, _retell_requests(args.events, "run"), args.senders))
    assert set(statuses) == {204}, f"unexpected answers {set(statuses)}"
    stored = WebhookEvent.objects.filter(event_key__contains="_run_").count()
    print(f"ingest  POST /webhooks/retell  {args.events} events, {args.senders} concurrent senders")
    print(f"  throughput  {args.events / elapsed:8.0f} events/s   (stored {stored})")
    print(f"  latency     p50 {_percentile(latencies, 0.50):6.1f} ms   p99 {_percentile(latencies, 0.99):6.1f} ms"
          f"   mean {statistics.fmean(latencies) * 1000:6.1f} ms   max {max(latencies) * 1000:6.1f} ms")

    import redis

    # The ingest backlog is not part of e2e: its queued dispatcher and flag go, and its events
    # count as queued so that the e2e dispatcher does not claim them.
    for db in (9, 10):
        redis.Redis.from_url(os.environ["REDIS_URL"], db=db).flushdb()
    WebhookEvent.objects.filter(provider="retell", queued_at__isnull=True).update(queued_at=timezone.now())
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "askpro", "worker", "-Q",
         "webhooks_high,webhooks,webhooks_low", "-c", "2", "-l", "warning",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=PROJECT_DIR, env=dict(os.environ), stdout=subprocess.DEVNULL,
    )
    try:
        from askpro.celery import app

        while not app.control.ping(timeout=0.5):
            time.sleep(0.2)
        cpu_before = _cpu_by_role()
        started = time.perf_counter()
        intake, _lat, calcom_statuses = asyncio.run(_load(port, _calcom_requests(args.e2e_events), args.senders))
        assert set(calcom_statuses) == {200}, f"unexpected answers {set(calcom_statuses)}"
        while WebhookEvent.objects.filter(provider="calcom").exclude(status="processed").exists():
            time.sleep(0.05)
        e2e = time.perf_counter() - started
        cpu = {role: used - cpu_before[role] for role, used in _cpu_by_role().items()}
        processed = WebhookEvent.objects.filter(provider="calcom", status="processed")
        avg_ms = statistics.fmean(processed.values_list("processing_ms", flat=True))
        print("end to end  signed Cal.com PING -> stored -> worker (2 processes) -> handler in tenant schema")
        print(f"  throughput  {args.e2e_events / e2e:8.0f} events/s   ({processed.count()} processed in {e2e:.1f} s,"
              f" handler time avg {avg_ms:.1f} ms; target >= 500 events/s)")
        claims = processed.values("queued_at").distinct().count()
        print(f"  intake      {args.e2e_events / intake:8.0f} events/s   (all answered after {intake:.1f} s);"
              f" {claims} dispatcher claims, {args.e2e_events / claims:.1f} events each")
        print("  CPU         " + ", ".join(f"{role} {used:.1f} s ({used / args.e2e_events * 1000:.2f} ms/event)"
                                            for role, used in cpu.items()) + f"; load average {os.getloadavg()[0]:.2f}")
    finally:
        worker.terminate()
        worker.wait(timeout=15)

if __name__ == "__main__":
    main()
