"""How AskPro's web processes are served: Granian (HTTP in Rust) running the WSGI application.

One place for the command line, used by the dev runner (``make run``), the benchmarks and the
live-server tests; the Dockerfile sets the same options through Granian's environment variables.

Why Granian and not gunicorn: the webhook intake is a burst of tiny requests, and on two cores
gunicorn's HTTP parsing in Python cost as much CPU as our whole store path (measured in
``benchmarks/webhooks.py``: 580 events/s, p99 65 ms under gunicorn gthread; 880-1,100 events/s,
p99 43-51 ms under Granian with the same application).

``WORKERS`` processes (``ASKPRO_WEB_WORKERS``, default 2: one per core here) each run the
application in up to ``BLOCKING_THREADS`` Python threads (``ASKPRO_WEB_THREADS``, default 4).
More threads add no CPU (the GIL); they let requests that wait on the network (Stripe, Cal.com)
overlap. Granian warns above 2 x cores + 1 threads per worker, where they mostly queue on the GIL.
"""

from __future__ import annotations

import os
import sys

WORKERS = int(os.environ.get("ASKPRO_WEB_WORKERS", "2"))
BLOCKING_THREADS = int(os.environ.get("ASKPRO_WEB_THREADS", "4"))


def granian_command(
    port: int | str, *, host: str = "127.0.0.1", workers: int = WORKERS,
    threads: int = BLOCKING_THREADS, access_log: bool = False, log_level: str = "warning",
) -> list[str]:
    """The argv that serves ``askpro.wsgi:application`` on ``host:port``."""
    command = [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--no-ws",
        "--host", host, "--port", str(port),
        "--workers", str(workers), "--blocking-threads", str(threads),
        "--workers-kill-timeout", "10", "--log-level", log_level,
    ]
    if access_log:
        command.append("--access-log")
    return [*command, "askpro.wsgi:application"]
