from __future__ import annotations

from django.db import connection
from django.test import Client


def test_health_reports_ok_for_database_cache_and_queue(public_client):
    response = public_client.get("/api/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok", "queue": "ok"}
    assert body["version"] and body["timestamp"]


def test_detailed_health_adds_latency_queue_lengths_and_integrations(public_client, settings):
    settings.HEALTH_TOKEN = "health-token-for-tests"
    body = public_client.get("/api/health/detailed", HTTP_AUTHORIZATION="Bearer health-token-for-tests").json()

    assert set(body["checks"]) == {"database", "cache", "queue"}
    assert all("latency_ms" in check for check in body["checks"].values())
    assert set(body["checks"]["queue"]["pending"]) >= {"webhooks", "default", "notifications", "billing"}
    assert isinstance(body["integrations"], dict)


def test_health_is_served_on_tenant_hosts_too(salon_client):
    assert salon_client.get("/api/health").json()["status"] == "ok"


def test_health_reports_down_with_503_when_the_database_is_unreachable(committed_db):
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = "1"  # nothing listens there
    try:
        response = Client(HTTP_HOST="localhost").get("/api/health")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == "down"
    assert body["checks"]["cache"] == "ok"
