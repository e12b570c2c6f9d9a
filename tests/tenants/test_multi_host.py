"""Two hosts, one dies mid-traffic: nothing lost, nothing done twice, the survivor carries on.

Network namespaces stand in for machines. Hosts A and B each run a Granian web process, a Celery
worker and a Celery beat (only the one holding the beat lock schedules) in their own namespace,
reachable over a veth pair. PostgreSQL and Redis stay in the root namespace (the "third host"):

* the web processes go through a PgBouncer in transaction pooling mode (DATABASE_POOL_MODE=
  transaction) listening on the root side of both veths;
* the workers and beats connect to PostgreSQL directly (a plain TCP relay on the veth address,
  since the server listens on loopback only): the webhook processor holds a session-level
  advisory lock per event, which a transaction pooler cannot carry (docs/scaling.md);
* Redis is reached through the same kind of relay.

The test sends signed Retell webhooks (``call_started``, one call each) and API bookings (one
slot each) to both hosts from a few client threads; a request that fails on a dead host is sent
again to the other one, as a load balancer or the provider's retry would. Part-way through, every
process of host A is killed (SIGKILL) and its namespace deleted. It then waits until every
accepted event is processed and checks each one's effect exists exactly once.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from tests.conftest import PROJECT_DIR, worker_env
from tests.fixtures.appointments import berlin
from tests.fixtures.calls import SALON_NUMBER, call_object
from tests.fixtures.pgbouncer import missing_reason as pgbouncer_missing
from tests.fixtures.pgbouncer import running_pgbouncer

pytestmark = pytest.mark.slow

RETELL_KEY = "retell_multi_host_key"
WEBHOOKS = 90
BOOKINGS = 24
CLIENT_THREADS = 4
KILL_AFTER = 0.4  # share of the requests answered before host A dies
READY_CAP = 300  # seconds: caps on waits for readiness, never measured durations


def _namespaces_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "iproute2 (ip) is not installed"
    if (reason := pgbouncer_missing()) is not None:
        return reason
    probe = f"askpro-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)  # noqa: S607
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], check=False)  # noqa: S607
    return None


def _ip(*args: str, namespace: str | None = None) -> None:
    command = ["ip", *(["netns", "exec", namespace, "ip"] if namespace else []), *args]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603


class Relay:
    """A TCP relay ``listen`` -> ``target`` (threads; each client gets its own upstream socket, and
    a client that goes away closes its upstream, as a direct connection would)."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(listen, reuse_port=False)
        self.server.settimeout(0.5)
        self.stopped = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def close(self) -> None:
        self.stopped.set()
        self.server.close()
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass


@dataclass
class Host:
    name: str
    namespace: str
    address: str  # inside the namespace
    gateway: str  # the root namespace's end of the veth
    port: int = 8000
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    alive: bool = True

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def start(self, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            process = subprocess.Popen(  # noqa: S603
                ["ip", "netns", "exec", self.namespace, *command], cwd=PROJECT_DIR, env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.processes.append(process)
        return process

    def kill(self) -> None:
        """The machine dies: every process at once (SIGKILL), then its network is gone."""
        self.alive = False
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pids = subprocess.run(["ip", "netns", "pids", self.namespace], capture_output=True, text=True).stdout  # noqa: S607
        for pid in pids.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        for process in self.processes:
            process.wait()
        subprocess.run(["ip", "netns", "delete", self.namespace], check=False, capture_output=True)  # noqa: S607


@pytest.fixture
def network() -> Iterator[list[Host]]:
    reason = _namespaces_unavailable()
    if reason:
        pytest.skip(reason)
    tag = os.getpid() % 100000
    subnet = 200 + os.getpid() % 50
    hosts = []
    try:
        for index, name in enumerate(("a", "b"), start=1):
            host = Host(name=name, namespace=f"askpro-{name}-{tag}", address=f"10.{subnet}.{index}.2",
                        gateway=f"10.{subnet}.{index}.1")
            outer, inner = f"ap{name}{tag}o", f"ap{name}{tag}i"
            _ip("netns", "add", host.namespace)
            hosts.append(host)
            _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", host.namespace)
            _ip("addr", "add", f"{host.gateway}/24", "dev", outer)
            _ip("link", "set", outer, "up")
            _ip("addr", "add", f"{host.address}/24", "dev", inner, namespace=host.namespace)
            _ip("link", "set", inner, "up", namespace=host.namespace)
            _ip("link", "set", "lo", "up", namespace=host.namespace)
        yield hosts
    finally:
        for host in hosts:
            if host.alive:
                host.kill()
            else:
                subprocess.run(["ip", "netns", "delete", host.namespace], check=False, capture_output=True)  # noqa: S607


@pytest.fixture
def third_host(network: list[Host], committed_db: None) -> Iterator[dict[str, Any]]:
    """PostgreSQL (direct relay and PgBouncer) and Redis, reachable from both hosts."""
    target = connection.settings_dict
    if (target["HOST"] or "").startswith("/"):
        pytest.skip("the embedded PostgreSQL listens on a Unix socket only; the hosts need TCP: run with "
                    "DATABASE_URL pointing at a PostgreSQL server (as on the development machine)")
    db_host, db_port = target["HOST"] or "127.0.0.1", int(target["PORT"] or 5432)
    redis_url = httpx.URL(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    relays = []
    workdir = Path(tempfile.mkdtemp(prefix="askpro-multihost-"))
    workdir.chmod(0o777)
    for host in network:
        relays.append(Relay((host.gateway, 5432), (db_host, db_port)))
        relays.append(Relay((host.gateway, 6379), (redis_url.host, redis_url.port or 6379)))
    bouncer = running_pgbouncer(target, port=6432, pool_size=4, max_clients=100,
                                listen=tuple(host.gateway for host in network), server_host=db_host,
                                server_port=db_port)
    try:
        with bouncer:
            yield {"user": target["USER"], "name": target["NAME"], "workdir": workdir}
    finally:
        for relay in relays:
            relay.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _host_env(host: Host, db: dict[str, Any], *, pooled: bool) -> dict[str, str]:
    env = worker_env()
    env.update({
        "DATABASE_URL": (f"postgresql://{db['user']}@{host.gateway}:6432/{db['name']}" if pooled
                         else f"postgresql://{db['user']}@{host.gateway}:5432/{db['name']}"),
        "DATABASE_POOL_MODE": "transaction" if pooled else "session",
        "REDIS_URL": f"redis://{host.gateway}:6379",
        "RETELL_API_KEY": RETELL_KEY,
        "WEBHOOK_RATE_LIMIT_PER_MINUTE": "0",
        "ASKPRO_API_THROTTLE_RATES": "bookings=100000/min,booking_changes=100000/min,availability=100000/min,"
                                     "booking_reads=100000/min",
        # A dead worker's claimed events are re-queued quickly by the beat that holds the lock.
        "WEBHOOK_SWEEP_SECONDS": "1", "WEBHOOK_STUCK_AFTER_SECONDS": "3", "ASKPRO_BEAT_LOCK_SECONDS": "3",
        "ASKPRO_EMBEDDED_DB": "0", "ASKPRO_EMBEDDED_REDIS": "0", "PYTHONUNBUFFERED": "1",
    })
    return env


def _start_host(host: Host, db: dict[str, Any], logs: Path) -> None:
    from django.conf import settings

    from askpro.webserver import granian_command

    web = granian_command(host.port, host=host.address, workers=1, threads=4)
    host.start(web, _host_env(host, db, pooled=True), logs / f"{host.name}-web.log")
    queues = ",".join(settings.CELERY_TASK_QUEUES_NAMES)
    host.start([sys.executable, "-m", "celery", "-A", "askpro", "worker", "-Q", queues, "-c", "2",
                "-n", f"multihost-{host.name}-{uuid.uuid4().hex[:6]}@%h", "-l", "warning",
                "--without-heartbeat", "--without-gossip", "--without-mingle"],
               _host_env(host, db, pooled=False), logs / f"{host.name}-worker.log")
    host.start([sys.executable, "-m", "celery", "-A", "askpro", "beat", "-l", "info",
                "-s", str(logs / f"{host.name}-beat-schedule")],
               _host_env(host, db, pooled=False), logs / f"{host.name}-beat.log")


def _wait_ready(hosts: list[Host], logs: Path) -> None:
    """Each web answers, and each worker answers a ping (by its node name)."""
    from askpro.celery import app

    deadline = time.monotonic() + READY_CAP
    with httpx.Client(timeout=5) as client:
        for host in hosts:
            while True:
                try:
                    client.get(f"{host.url}/api/health", headers={"Host": "localhost"})
                    break  # it answers (whatever the health of the rest)
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or any(p.poll() is not None for p in host.processes):
                    logs_text = {p.name: p.read_text()[-1500:] for p in logs.glob(f"{host.name}-*.log")}
                    pytest.fail(f"host {host.name} did not come up: {logs_text}")
                time.sleep(0.2)
    while True:
        replies = app.control.ping(timeout=1) or []
        names = {name for reply in replies for name in reply}
        if all(any(f"multihost-{host.name}-" in name for name in names) for host in hosts):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"workers did not answer a ping: {names}")


@dataclass
class Traffic:
    accepted_events: set[str] = field(default_factory=set)
    booked_slots: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    after_kill_on_b: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def test_two_hosts_one_killed_mid_traffic_nothing_lost_or_done_twice(
    network, third_host, salon, salon_route, api_key, anna, haarschnitt, branch_mitte, customer_erika, next_monday,
    tmp_path,
):
    from appointments.models import Appointment
    from askpro.celery import app
    from calls.models import Call
    from integrations.models import WebhookEvent
    from integrations.signatures import sign_retell

    app.control.purge()
    host_a, host_b = network
    for host in network:
        _start_host(host, third_host, tmp_path)
    _wait_ready(network, tmp_path)

    run = uuid.uuid4().hex[:8]
    slots = [berlin(next_monday + timedelta(days=day), f"{hour:02d}:{minute:02d}")
             for day in range(3) for hour in (9, 10, 11, 13, 14, 15, 16, 17) for minute in (0, 30)][:BOOKINGS]
    work: list[tuple[str, Any]] = []
    for n in range(WEBHOOKS):  # a booking between every few webhooks
        work.append(("webhook", f"call_{run}_{n}"))
        if n % (WEBHOOKS // BOOKINGS) == 0 and len(work) - n - 1 < BOOKINGS:
            work.append(("booking", slots[len(work) - n - 1]))
    assert len([item for item in work if item[0] == "booking"]) == BOOKINGS
    webhook_count = len([item for item in work if item[0] == "webhook"])

    traffic = Traffic()
    done = itertools.count(1)
    kill_at = int(len(work) * KILL_AFTER)
    killed = threading.Event()
    killer_lock = threading.Lock()
    round_robin = itertools.count()
    key = api_key[1]

    def request(client: httpx.Client, host: Host, kind: str, item: Any) -> httpx.Response:
        if kind == "webhook":
            body = json.dumps({"event": "call_started", "call": call_object(item, to_number=SALON_NUMBER)}).encode()
            return client.post(f"{host.url}/webhooks/retell", content=body, headers={
                "Host": "localhost", "Content-Type": "application/json",
                "X-Retell-Signature": sign_retell(body, RETELL_KEY)})
        body = json.dumps({"customer_id": customer_erika.pk, "service_id": haarschnitt.pk, "staff_id": anna.pk,
                           "starts_at": item.isoformat()}).encode()
        return client.post(f"{host.url}/api/v2/bookings", content=body, headers={
            "Host": "salon-schmidt.localhost", "Content-Type": "application/json",
            "Authorization": f"Bearer {key}"})

    def send(client: httpx.Client, kind: str, item: Any) -> None:
        first = network[next(round_robin) % 2]
        hosts = [first, host_b if first is host_a else host_a]
        for attempt, host in enumerate(h for h in hosts if h.alive or h is host_b):
            try:
                response = request(client, host, kind, item)
            except httpx.TransportError:
                with traffic.lock:
                    traffic.retried += 1
                continue  # the host is down (or died during the request): the other one
            with traffic.lock:
                traffic.answers[f"{kind} {response.status_code}"] += 1
                if killed.is_set() and host is host_b:
                    traffic.after_kill_on_b += 1
                if kind == "webhook" and response.status_code < 300:
                    traffic.accepted_events.add(item)
                if kind == "booking" and (response.status_code == 201 or (response.status_code == 409 and attempt)):
                    traffic.booked_slots.add(item.isoformat())  # a 409 on the retry: the dead host booked it
            return
        raise AssertionError(f"{kind} {item} reached no host")

    def client_thread(items: list[tuple[str, Any]]) -> None:
        with httpx.Client(timeout=httpx.Timeout(30, connect=5)) as client:
            for kind, item in items:
                send(client, kind, item)
                if next(done) >= kill_at:
                    with killer_lock:
                        if not killed.is_set():
                            host_a.kill()
                            killed.set()

    threads = [threading.Thread(target=client_thread, args=(work[n::CLIENT_THREADS],)) for n in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert killed.is_set() and not host_a.alive

    # Wait (readiness, not time) until every accepted event is processed by the survivor.
    deadline = time.monotonic() + READY_CAP
    while True:
        with schema_context("public"):
            processed = WebhookEvent.objects.filter(
                event_key__in=_event_keys(traffic.accepted_events), status=WebhookEvent.Status.PROCESSED).count()
        if processed >= len(traffic.accepted_events) or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    with schema_context("public"):
        rows = Counter(WebhookEvent.objects.filter(event_key__in=_event_keys(traffic.accepted_events))
                       .values_list("event_key", flat=True))
        statuses = Counter(WebhookEvent.objects.filter(event_key__in=_event_keys(traffic.accepted_events))
                           .values_list("status", flat=True))
    with tenant_context(salon):
        calls = Counter(Call.objects.filter(call_id__startswith=f"call_{run}_").values_list("call_id", flat=True))
        booked = Counter(Appointment.objects.filter(staff=anna).exclude(status="cancelled")
                         .values_list("starts_at", flat=True))
    booked_iso = Counter({starts.astimezone(slots[0].tzinfo).isoformat(): n for starts, n in booked.items()})

    lost_events = [call for call in traffic.accepted_events if calls[call] == 0]
    twice_events = [call for call, n in calls.items() if n > 1] + [key for key, n in rows.items() if n > 1]
    lost_bookings = [slot for slot in traffic.booked_slots if booked_iso[slot] == 0]
    twice_bookings = [slot for slot, n in booked_iso.items() if n > 1]
    print(f"\nmulti-host: webhooks sent {webhook_count}, accepted {len(traffic.accepted_events)}, "
          f"processed {statuses.get('processed', 0)}, duplicates {len(twice_events)}, lost {len(lost_events)}; "
          f"bookings sent {BOOKINGS}, booked {len(traffic.booked_slots)}, duplicates {len(twice_bookings)}, "
          f"lost {len(lost_bookings)}; retried on the other host {traffic.retried}, "
          f"answered by B after A died {traffic.after_kill_on_b}; answers {dict(traffic.answers)}; "
          f"statuses {dict(statuses)}")

    assert len(traffic.accepted_events) == webhook_count  # every webhook reached a host in the end
    assert len(traffic.booked_slots) == BOOKINGS  # every slot booked (once: a second try gets 409)
    assert lost_events == [] and twice_events == []
    assert lost_bookings == [] and twice_bookings == []
    assert statuses == Counter({"processed": webhook_count})
    assert traffic.after_kill_on_b > 0  # the survivor carried on
    assert all(process.poll() is None for process in host_b.processes)



def _event_keys(call_ids: set[str]) -> list[str]:
    return sorted(f"call_started:{call_id}" for call_id in call_ids)  # integrations.providers: Retell keys
