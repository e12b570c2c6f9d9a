"""Stripe configuration: the dev runner shares a generated webhook secret with localstripe, and
settings refuse (production) or warn about (development) a Stripe key without a webhook secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import stripe

from askpro import dev
from tests.conftest import PROJECT_DIR, wait_for


def test_make_run_gives_localstripe_and_askpro_the_same_generated_webhook_secret(localstripe_server, settings):
    # given the dev runner's environment without any Stripe settings
    environ: dict[str, str] = {}
    dev.configure_stripe(environ)
    secret = environ["STRIPE_WEBHOOK_SECRET"]
    assert environ["ASKPRO_LOCALSTRIPE"] == "1" and secret.startswith("whsec_dev_") and len(secret) > 40
    again: dict[str, str] = {}
    dev.configure_stripe(again)
    assert again["STRIPE_WEBHOOK_SECRET"] != secret  # generated, never a fixed value

    received: list[tuple[bytes, str]] = []

    class Capture(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((raw, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # when the runner registers the endpoint and localstripe emits an event
        dev.register_localstripe_webhook(localstripe_server, f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe",
                                         secret, name="askpro-config-test", events=["customer.created"])
        client = stripe.StripeClient("sk_test_12345", base_addresses={"api": localstripe_server})
        customer = client.v1.customers.create(params={"email": "x@example.com"})
        raw, header = wait_for(lambda: received[0] if received else None, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
        dev.register_localstripe_webhook(localstripe_server, "http://127.0.0.1:9/unused", secret,
                                         name="askpro-config-test", events=["askpro.never"])

    # then AskPro verifies it with the secret it was given
    event = stripe.Webhook.construct_event(raw, header, secret)
    assert (event.type, event.data.object.id) == ("customer.created", customer.id)


def test_an_explicit_webhook_secret_and_a_real_key_are_kept(monkeypatch):
    environ = {"STRIPE_API_KEY": "sk_test_real", "STRIPE_WEBHOOK_SECRET": "whsec_mine"}
    dev.configure_stripe(environ)
    assert environ == {"STRIPE_API_KEY": "sk_test_real", "STRIPE_WEBHOOK_SECRET": "whsec_mine"}


PRODUCTION = {"ASKPRO_ENV": "production", "SECRET_KEY": "x" * 50,
              "ASKPRO_FERNET_KEYS": "Qm9vdHN0cmFwLWtleS1mb3ItdGVzdHMtb25seS0wMDA=", "RETELL_API_KEY": "key_live",
              # production also refuses the demo seller data printed on invoices (askpro/settings.py)
              "ASKPRO_SELLER_VAT_ID": "DE811907980", "ASKPRO_SELLER_TAX_NUMBER": "27/601/12345",
              "ASKPRO_SELLER_IBAN": "DE89370400440532013000"}


def _import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "ASKPRO_ENV", "DJANGO_SETTINGS"))}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import askpro.settings as s; print(json.dumps(s.STRIPE_API_KEY))".replace(
            "json.dumps", "__import__('json').dumps")],
        cwd=PROJECT_DIR, env={**clean, **env}, capture_output=True, text=True, timeout=120,
    )


def test_production_refuses_a_stripe_key_without_a_webhook_secret():
    refused = _import_settings(**PRODUCTION, STRIPE_API_KEY="sk_live_abc")
    accepted = _import_settings(**PRODUCTION, STRIPE_API_KEY="sk_live_abc", STRIPE_WEBHOOK_SECRET="whsec_live")

    assert refused.returncode != 0
    assert "ImproperlyConfigured: STRIPE_API_KEY is set but STRIPE_WEBHOOK_SECRET is not" in refused.stderr
    assert (accepted.returncode, json.loads(accepted.stdout)) == (0, "sk_live_abc"), accepted.stderr


def test_development_warns_about_a_stripe_key_without_a_webhook_secret():
    warned = _import_settings(ASKPRO_ENV="development", STRIPE_API_KEY="sk_test_abc")

    assert warned.returncode == 0, warned.stderr
    assert "UserWarning: STRIPE_API_KEY is set but STRIPE_WEBHOOK_SECRET is not" in warned.stderr
