"""Health checks: database, cache and queue, plus integration checks that apps register.

``GET /api/health`` is public and cheap enough for a load balancer: statuses only, never an
error text. ``/api/health/detailed`` adds latencies, queue lengths, error texts and the
``integrations`` section (which calls providers), so it answers only an operator session of the
platform admin or ``Authorization: Bearer $ASKPRO_HEALTH_TOKEN``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from askpro.admin_auth import is_operator_request
from askpro.errors import error_response

# name -> callable returning {"status": "ok"|"degraded"|"down", ...}
_integration_checks: dict[str, Callable[[], dict[str, Any]]] = {}


def register_integration_check(name: str, check: Callable[[], dict[str, Any]]) -> None:
    """Apps add their external dependencies (Stripe, Cal.com, Retell breakers) here."""
    _integration_checks[name] = check


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a check reports, it never raises
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": "ok"}


def check_cache() -> dict[str, Any]:
    key = "health:probe"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        return {"status": "down", "error": "cache did not return the value written"}
    return {"status": "ok"}


def _broker() -> redis.Redis:
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )


def check_queue(detailed: bool = False) -> dict[str, Any]:
    client = _broker()
    try:
        client.ping()
        result: dict[str, Any] = {"status": "ok"}
        if detailed:
            result["pending"] = {
                name: int(client.llen(name)) for name in settings.CELERY_TASK_QUEUES_NAMES
            }
        return result
    finally:
        client.close()


def _overall(checks: dict[str, dict[str, Any]]) -> str:
    if checks["database"]["status"] == "down":
        return "down"
    if any(check["status"] != "ok" for check in checks.values()):
        return "degraded"
    return "ok"


def collect(detailed: bool = False) -> tuple[dict[str, Any], int]:
    checks = {
        "database": _timed(check_database),
        "cache": _timed(check_cache),
        "queue": _timed(lambda: check_queue(detailed)),
    }
    status = _overall(checks)
    body: dict[str, Any] = {
        "status": status,
        "timestamp": timezone.now().isoformat(),
        "version": settings.VERSION,
    }
    if detailed:
        body["checks"] = checks
        body["integrations"] = {name: _timed(check) for name, check in sorted(_integration_checks.items())}
    else:
        body["checks"] = {name: check["status"] for name, check in checks.items()}
    return body, 503 if status == "down" else 200


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    body, status = collect(detailed=False)
    return JsonResponse(body, status=status)


@require_GET
def health_detailed(request: HttpRequest) -> JsonResponse:
    if not is_operator_request(request, settings.HEALTH_TOKEN):
        return error_response(
            "OPERATOR_ONLY", _("Only operators may see the detailed health report."), 403
        )
    body, status = collect(detailed=True)
    return JsonResponse(body, status=status)
