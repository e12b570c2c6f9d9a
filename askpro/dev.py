"""The one-command development runner: ``python -m askpro.dev run`` (``make run``).

Starts PostgreSQL and Redis (the servers in DATABASE_URL / REDIS_URL, or embedded ones under
.askpro/), migrates every schema, loads the demo data, then runs the web server, a Celery
worker and Celery beat in one terminal with prefixed log lines (askpro.supervisor restarts one
that crashes, with backoff). Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import MutableMapping
from pathlib import Path

from askpro.devsecrets import ensure_dev_secrets
from askpro.embedded import DATA_DIR, ensure_services, stop_services
from askpro.webserver import granian_command

PROJECT_DIR = Path(__file__).resolve().parent.parent
PORT = os.environ.get("ASKPRO_PORT", "8000")
LOCALSTRIPE_PORT = os.environ.get("ASKPRO_LOCALSTRIPE_PORT", "8420")


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=PROJECT_DIR, check=True)  # noqa: S603


def configure_stripe(environ: MutableMapping[str, str]) -> None:
    """Without a real Stripe key, use localstripe; give it and AskPro one generated webhook secret
    (unless STRIPE_WEBHOOK_SECRET is set), so its signed events are accepted instead of 401."""
    if not environ.get("STRIPE_API_KEY") and not environ.get("STRIPE_API_BASE"):
        environ["STRIPE_API_BASE"] = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"
        environ["ASKPRO_LOCALSTRIPE"] = "1"
    if environ.get("ASKPRO_LOCALSTRIPE") == "1" and not environ.get("STRIPE_WEBHOOK_SECRET"):
        environ["STRIPE_WEBHOOK_SECRET"] = "whsec_dev_" + secrets.token_hex(24)


def register_localstripe_webhook(base: str, url: str, secret: str, *, name: str = "askpro",
                                 events: list[str] | None = None, timeout: float = 120.0) -> None:
    """Wait until localstripe answers, then register AskPro's endpoint with the shared secret
    (localstripe keeps registrations in memory: done on every start)."""
    import httpx

    deadline = time.monotonic() + timeout
    data: dict[str, object] = {"url": url, "secret": secret}
    if events is not None:
        data["events"] = events
    while True:
        try:
            httpx.post(f"{base}/_config/webhooks/{name}", json=data, timeout=5).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _register_in_background(base: str, url: str, secret: str) -> None:
    def register() -> None:
        try:
            register_localstripe_webhook(base, url, secret)
            print(f"localstripe: webhooks go to {url}", flush=True)
        except Exception as exc:  # the runner goes on; top-ups still work, events are not delivered
            print(f"localstripe: webhook registration failed: {exc}", file=sys.stderr, flush=True)

    threading.Thread(target=register, name="localstripe-webhook", daemon=True).start()


def prepare_metrics_dir(environ: MutableMapping[str, str]) -> Path:
    """prometheus_client's multiprocess directory for the web workers (askpro/request_metrics.py):
    emptied on every start, so a scrape sums only this run's processes."""
    import shutil

    path = Path(environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics")))
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


def processes() -> dict[str, str]:
    python = sys.executable
    queues = "webhooks_high,webhooks,webhooks_low,default,notifications,billing"
    commands = {
        "web": shlex.join(granian_command(PORT, host="0.0.0.0", access_log=True, log_level="info")),  # noqa: S104
        "worker": f"{python} -m celery -A askpro worker -Q {queues} --concurrency 2 -l info",
        "beat": f"{python} -m celery -A askpro beat -l info -s {DATA_DIR / 'celerybeat-schedule'}",
        "calcom": f"{python} -m integrations.calcom_sandbox --port {os.environ.get('CALCOM_SANDBOX_PORT', '5555')}",
    }
    if os.environ.get("ASKPRO_LOCALSTRIPE") == "1":
        # No real Stripe configured: a local Stripe-compatible server makes top-ups work offline.
        commands["stripe"] = f"{Path(python).parent / 'localstripe'} --port {LOCALSTRIPE_PORT}"
    return commands


def run() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askpro.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    ensure_dev_secrets()
    ensure_services()
    configure_stripe(os.environ)
    prepare_metrics_dir(os.environ)
    print(f"PostgreSQL: {os.environ['DATABASE_URL']}")
    print(f"Redis:      {os.environ['REDIS_URL']}")
    _manage("migrate_schemas", "--shared", "-v", "0")
    _manage("migrate_schemas", "--tenant", "-v", "0")  # existing tenants (and the template) first
    _manage("sync_roles")
    _manage("seed_demo")  # creates the template and demo tenants on first run; idempotent after
    _manage("collectstatic", "--noinput", "-v", "0")

    from askpro.supervisor import Supervisor

    supervisor = Supervisor(processes(), cwd=str(PROJECT_DIR), env=dict(os.environ))
    print(
        "\nAskPro is starting:\n"
        f"  Health:          http://localhost:{PORT}/api/health\n"
        f"  Platform admin:  http://localhost:{PORT}/admin/\n"
        f"  Salon Schmidt:   http://salon-schmidt.localhost:{PORT}/admin/\n"
        f"  Physio Nord:     http://physio-nord.localhost:{PORT}/admin/\n"
        f"  API docs:        http://salon-schmidt.localhost:{PORT}/api/docs/\n"
        "  Logins (and the operator's authenticator secret) are printed by seed_demo above.\n"
        "  A process that crashes is restarted with backoff. Ctrl-C stops everything.\n",
        flush=True,
    )
    if os.environ.get("ASKPRO_LOCALSTRIPE") == "1":
        _register_in_background(os.environ["STRIPE_API_BASE"], f"http://127.0.0.1:{PORT}/webhooks/stripe",
                                os.environ["STRIPE_WEBHOOK_SECRET"])
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getpid(), signal.SIGINT))
    supervisor.start()
    try:
        supervisor.loop()
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop()
        stop_services()
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "run":
        print("usage: python -m askpro.dev run", file=sys.stderr)
        sys.exit(2)
    sys.exit(run())
