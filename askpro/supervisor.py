"""A small process supervisor for the dev runner: prefixed output, restart with backoff.

honcho ends every process when one exits, so a crashed (or killed) Celery worker used to stop the
whole ``make run`` stack, the embedded PostgreSQL and Redis included. Here a process that exits
on its own is started again after a backoff (1 s, 2 s, 4 s … capped; reset after it ran for a
minute); only Ctrl-C / SIGTERM, or ``stop()``, end the stack.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

COLOURS = ["\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m", "\033[31m"]
RESET = "\033[0m"


@dataclass
class Child:
    name: str
    command: str
    colour: str
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 0.0
    restart_at: float | None = None
    pids: list[int] = field(default_factory=list)


class Supervisor:
    def __init__(
        self, commands: dict[str, str], *, cwd: str, env: dict[str, str], out: IO[str] | None = None,
        initial_backoff: float = 1.0, max_backoff: float = 30.0, stable_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = {
            name: Child(name, command, COLOURS[i % len(COLOURS)]) for i, (name, command) in enumerate(commands.items())
        }
        self.cwd, self.env = cwd, env
        self.out = out or sys.stdout
        self.initial_backoff, self.max_backoff, self.stable_after = initial_backoff, max_backoff, stable_after
        self.clock = clock
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._width = max((len(name) for name in commands), default=0)

    # --- output ---------------------------------------------------------------------------

    def log(self, name: str, line: str) -> None:
        child = self.children.get(name)
        colour = child.colour if child else ""
        stamp = time.strftime("%H:%M:%S")
        with self._lock:
            self.out.write(f"{colour}{stamp} {name.ljust(self._width)} |{RESET} {line}\n")
            self.out.flush()

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.log(child.name, raw.decode(errors="replace").rstrip())
        stream.close()

    # --- processes ------------------------------------------------------------------------

    def _start(self, child: Child) -> None:
        process = subprocess.Popen(  # noqa: S603
            shlex.split(child.command), cwd=self.cwd, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        child.process, child.started_at, child.restart_at = process, self.clock(), None
        child.pids.append(process.pid)
        assert process.stdout is not None
        threading.Thread(target=self._pump, args=(child, process.stdout), daemon=True).start()
        self.log(child.name, f"started with pid {process.pid}")

    def start(self) -> None:
        for child in self.children.values():
            self._start(child)

    def poll_once(self) -> None:
        """Notice exited processes and (re)start those whose backoff has passed."""
        now = self.clock()
        for child in self.children.values():
            if child.process is not None and child.process.poll() is not None:
                code = child.process.returncode
                ran_for = now - child.started_at
                child.process = None
                if ran_for >= self.stable_after:
                    child.backoff = 0.0
                child.backoff = self.initial_backoff if child.backoff == 0 else min(child.backoff * 2, self.max_backoff)
                child.restart_at = now + child.backoff
                self.log(child.name, f"exited with code {code} after {ran_for:.1f} s; restarting in {child.backoff:.0f} s")
            if child.process is None and child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._start(child)

    def loop(self, interval: float = 0.2) -> None:
        while not self._stopping.is_set():
            self.poll_once()
            self._stopping.wait(interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate every process group (SIGTERM, then SIGKILL after ``timeout``)."""
        self._stopping.set()
        running = [c for c in self.children.values() if c.process is not None and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            try:
                os.killpg(child.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(child.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.process.wait()
            self.log(child.name, "stopped")
