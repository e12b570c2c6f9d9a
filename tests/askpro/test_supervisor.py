"""The dev runner's supervisor restarts a killed Celery worker; work sent meanwhile is done."""

from __future__ import annotations

import io
import os
import shlex
import signal
import sys
import threading
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django_tenants.utils import tenant_context

from askpro.celery import app
from askpro.supervisor import Supervisor
from tests.conftest import PROJECT_DIR, wait_for, worker_env

pytestmark = pytest.mark.slow


def _worker_command() -> str:
    queues = ",".join(settings.CELERY_TASK_QUEUES_NAMES)
    return shlex.join([sys.executable, "-m", "celery", "-A", "askpro", "worker", "-Q", queues, "-c", "1",
                       "-l", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle"])


def test_a_killed_worker_is_restarted_and_processes_what_was_sent_meanwhile(committed_db, salon):
    # given the supervisor running a worker
    out = io.StringIO()
    supervisor = Supervisor({"worker": _worker_command()}, cwd=str(PROJECT_DIR), env=worker_env(), out=out,
                            initial_backoff=1.0)
    supervisor.start()
    loop = threading.Thread(target=supervisor.loop, daemon=True)
    loop.start()
    try:
        wait_for(lambda: app.control.ping(timeout=0.5), timeout=120)
        first_pid = supervisor.children["worker"].pids[0]

        # when its main process is killed and a task is sent while it is down
        os.kill(first_pid, signal.SIGKILL)
        wait_for(lambda: "exited with code -9" in out.getvalue(), timeout=30)
        probe_id = uuid.uuid4().hex
        from tenants.tasks import record_task_probe

        with tenant_context(salon):
            record_task_probe.delay(probe_id)

            # then a new worker is started and runs the task in the salon's schema
            wait_for(lambda: supervisor.children["worker"].restarts == 1, timeout=30)
            assert wait_for(lambda: cache.get(f"task-probe:{probe_id}"), timeout=120) == "salon_schmidt"
        assert len(supervisor.children["worker"].pids) == 2
        assert supervisor.children["worker"].pids[1] != first_pid
        assert "restarting in 1 s" in out.getvalue()
    finally:
        supervisor.stop()
        loop.join(timeout=5)
    assert supervisor.children["worker"].process.poll() is not None


def test_backoff_doubles_while_a_process_keeps_crashing_and_resets_after_a_stable_run():
    now = [0.0]
    supervisor = Supervisor({"crash": "false"}, cwd=str(PROJECT_DIR), env=dict(os.environ), out=io.StringIO(),
                            initial_backoff=1.0, max_backoff=4.0, stable_after=60.0, clock=lambda: now[0])
    supervisor.start()
    child = supervisor.children["crash"]
    backoffs = []
    try:
        for _ in range(4):
            child.process.wait()
            supervisor.poll_once()  # notices the exit, schedules the restart
            backoffs.append(child.backoff)
            now[0] += child.backoff
            supervisor.poll_once()  # restarts
        assert backoffs == [1.0, 2.0, 4.0, 4.0]
        assert child.restarts == 4
        child.process.wait()
        now[0] += 61  # the last run counted as stable
        supervisor.poll_once()
        assert child.backoff == 1.0
    finally:
        supervisor.stop()
