"""/metrics: operators only; the inbox, queues, breakers and tenants as Prometheus gauges."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from integrations.models import WebhookEvent
from tenants import services as tenant_services
from tests.fixtures.security import login_operator

TOKEN = "metrics-token-for-tests"


def _event(key: str, provider: str, status: str, age_seconds: int) -> None:
    WebhookEvent.objects.create(
        event_key=key, provider=provider, status=status, raw_body=b"{}", payload={},
        received_at=timezone.now() - timedelta(seconds=age_seconds),
    )


def test_metrics_are_refused_without_the_token_or_an_operator(public_client, settings):
    settings.HEALTH_TOKEN = TOKEN

    anonymous = public_client.get("/metrics")
    wrong = public_client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")

    assert (anonymous.status_code, wrong.status_code) == (403, 403)
    assert anonymous.json()["error"]["code"] == "OPERATOR_ONLY"


def test_a_scrape_shows_inbox_depth_and_age_queues_breakers_and_tenants(public_client, salon, physio, settings):
    # given two pending Stripe events (the oldest 300 s old) and a failed Retell event
    settings.HEALTH_TOKEN = TOKEN
    _event("s1", "stripe", "received", 300)
    _event("s2", "stripe", "processing", 10)
    _event("r1", "retell", "failed", 50)
    _event("r2", "retell", "processed", 50)
    tenant_services.set_tenant_status(physio, "suspended")

    # when
    response = public_client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=1.0.0; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert 'askpro_webhook_inbox_pending{provider="stripe"} 2.0' in lines
    assert 'askpro_webhook_inbox_pending{provider="retell"} 0.0' in lines
    assert 'askpro_webhook_inbox_failed{provider="retell"} 1.0' in lines
    age = next(line for line in lines if line.startswith('askpro_webhook_inbox_oldest_pending_age_seconds{provider="stripe"}'))
    assert 300 <= float(age.split()[-1]) < 400
    assert 'askpro_celery_queue_length{queue="webhooks"}' in " ".join(lines)
    assert 'askpro_circuit_breaker_state{provider="stripe",state="closed"} 1.0' in lines
    assert 'askpro_tenants{status="active"} 1.0' in lines
    assert 'askpro_tenants{status="suspended"} 1.0' in lines


def test_an_operator_session_may_scrape(public_client, settings):
    settings.HEALTH_TOKEN = ""
    tenant_services.create_operator(email="op@askpro.example", password="s3cret-pass!")
    login_operator(public_client, "op@askpro.example", "s3cret-pass!")

    assert public_client.get("/metrics").status_code == 200
