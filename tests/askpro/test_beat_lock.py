"""One beat across hosts: two real beat processes, one lock; the second takes over when the first dies."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.conf import settings

from askpro.beat import lock_key
from tests.conftest import PROJECT_DIR, worker_env

pytestmark = pytest.mark.slow

SENT = "Sending due task"
READY_CAP = 240  # seconds: only a cap on a wait for a log line, never a measured duration


class Beat:
    """A ``celery beat`` process whose log lines are read as they come."""

    def __init__(self, name: str, schedule: Path) -> None:
        env = {**worker_env(), "OUTBOX_SWEEP_SECONDS": "1", "ASKPRO_BEAT_LOCK_SECONDS": "3",
               "PYTHONUNBUFFERED": "1"}
        self.name = name
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "askpro", "beat", "-l", "info", "-s", str(schedule)],
            cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, count: int = 1) -> None:
        """Block until ``text`` appeared ``count`` times in this beat's log (more since the call)."""
        found = 0
        while found < count:
            try:
                line = self.lines.get(timeout=READY_CAP)
            except queue.Empty:
                raise AssertionError(f"{self.name}: no {text!r} in its log; saw {self.seen[-20:]}") from None
            self.seen.append(line)
            if text in line:
                found += 1

    def drain(self) -> list[str]:
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return self.seen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def beat(name: str, schedule: Path) -> Iterator[Beat]:
    process = Beat(name, schedule)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def lock_store() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    client.delete(lock_key())
    yield client
    client.delete(lock_key())
    from askpro.celery import app

    app.control.purge()  # the sweeps the beats sent; no worker ran them


def test_a_second_beat_stays_passive_and_takes_over_when_the_first_dies(tmp_path, lock_store):
    with beat("first", tmp_path / "first") as first:
        first.wait_for("beat lock acquired")
        first.wait_for(SENT)

        with beat("second", tmp_path / "second") as second:
            second.wait_for("beat lock held by another beat")
            # While the first holds the lock, it keeps sending and the second sends nothing.
            first.wait_for(SENT, count=3)
            assert not any(SENT in line for line in second.drain())
            assert lock_store.get(lock_key()) is not None

            # The first dies without releasing the lock (SIGKILL: no clean shutdown).
            first.process.kill()
            first.process.wait()

            second.wait_for("beat lock acquired")
            second.wait_for(SENT, count=2)
            passive_part = second.seen[: next(i for i, line in enumerate(second.seen) if "lock acquired" in line)]
            assert not any(SENT in line for line in passive_part)


def test_a_beat_that_stops_cleanly_releases_the_lock(tmp_path, lock_store):
    with beat("only", tmp_path / "only") as only:
        only.wait_for("beat lock acquired")
        assert lock_store.get(lock_key()) is not None
        only.stop()

    assert only.process.returncode is not None
    assert lock_store.get(lock_key()) is None


def test_the_lock_is_not_renewed_or_released_by_a_beat_that_lost_it(lock_store):
    from askpro.beat import BeatLock

    stalled = BeatLock(lock_store, lock_key(), ttl_seconds=30)
    assert stalled.hold()
    lock_store.delete(lock_key())  # its TTL ran out while it stalled ...
    other = BeatLock(lock_store, lock_key(), ttl_seconds=30)
    assert other.hold()  # ... and another beat took the lock

    assert not stalled.hold()  # it notices, and neither extends nor takes the other's lock
    stalled.held = True
    stalled.release()
    assert lock_store.get(lock_key()).decode() == other.token
