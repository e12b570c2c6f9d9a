"""Prometheus metrics at ``/metrics`` (operators only: platform-admin session or the operations
bearer token ``ASKPRO_HEALTH_TOKEN``).

Business figures (inbox, outbox, bookings, calls, notification outcomes, tenants) are computed
at scrape time from the database and Redis, so every web process answers the same numbers under
Granian's workers. Bookings, calls and notifications live in each tenant's schema: one UNION ALL
query reads them all, labelled by tenant class (pricing plan and status), never by tenant, so the
series stay bounded. Request latency is the one in-process figure (askpro/request_metrics.py); in
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) the scrape sums every worker's files.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from askpro import request_metrics
from askpro.admin_auth import is_operator_request
from askpro.errors import error_response

BREAKER_STATES = ("closed", "half_open", "open")


class AskProCollector(Collector):
    def collect(self) -> Iterator[Any]:
        yield from self._inbox()
        yield self._queues()
        yield self._breakers()
        yield self._tenants()
        yield from self._outbox()
        yield from self._tenant_business()

    def _outbox(self) -> Iterator[GaugeMetricFamily]:
        from askpro.outbox import registered_effects
        from integrations.models import OutboxEffect

        pending = GaugeMetricFamily("askpro_outbox_pending", "Outbox effects not yet done, by effect kind",
                                    labels=["effect"])
        lag = GaugeMetricFamily("askpro_outbox_oldest_pending_age_seconds",
                                "Age of the oldest outbox effect not yet done (delivery lag)", labels=["effect"])
        failed = GaugeMetricFamily("askpro_outbox_failed", "Outbox effects that gave up", labels=["effect"])
        now = timezone.now()
        rows = {
            row["handler"]: row for row in OutboxEffect.objects.filter(status=OutboxEffect.Status.PENDING)
            .values("handler").annotate(count=Count("id"), oldest=Min("created_at"))
        }
        failures = dict(
            OutboxEffect.objects.filter(status=OutboxEffect.Status.FAILED)
            .values("handler").annotate(count=Count("id")).values_list("handler", "count")
        )
        # Registered kinds always appear (0 when idle); a row of an unregistered kind shows too.
        for effect in sorted(set(registered_effects()) | set(rows) | set(failures)):
            row = rows.get(effect)
            pending.add_metric([effect], row["count"] if row else 0)
            lag.add_metric([effect], max((now - row["oldest"]).total_seconds(), 0.0) if row else 0)
            failed.add_metric([effect], failures.get(effect, 0))
        yield from (pending, lag, failed)

    def _tenant_business(self) -> Iterator[Any]:
        from askpro.tenant_figures import business_counts

        counts = business_counts()
        bookings = CounterMetricFamily(
            "askpro_bookings", "Appointments booked, by tenant class (pricing plan, status) and channel",
            labels=["plan", "tenant_status", "source"])
        for (plan, status, source), count in sorted(counts.bookings.items()):
            bookings.add_metric([plan, status, source], count)
        calls = CounterMetricFamily(
            "askpro_calls", "Phone calls, by tenant class (pricing plan, status) and call status",
            labels=["plan", "tenant_status", "status"])
        for (plan, status, call_status), count in sorted(counts.calls.items()):
            calls.add_metric([plan, status, call_status], count)
        notifications = GaugeMetricFamily(
            "askpro_notification_deliveries", "Notification deliveries by channel and outcome (status)",
            labels=["channel", "status"])
        for (channel, status), count in sorted(counts.notifications.items()):
            notifications.add_metric([channel, status], count)
        yield from (bookings, calls, notifications)

    def _inbox(self) -> Iterator[GaugeMetricFamily]:
        from integrations.models import WebhookEvent

        pending = GaugeMetricFamily("askpro_webhook_inbox_pending", "Webhook events not yet processed", labels=["provider"])
        age = GaugeMetricFamily(
            "askpro_webhook_inbox_oldest_pending_age_seconds", "Age of the oldest unprocessed webhook event", labels=["provider"]
        )
        failed = GaugeMetricFamily("askpro_webhook_inbox_failed", "Webhook events that gave up", labels=["provider"])
        now = timezone.now()
        rows = {
            row["provider"]: row
            for row in WebhookEvent.objects.filter(status__in=WebhookEvent.PENDING_STATUSES)
            .values("provider").annotate(count=Count("id"), oldest=Min("received_at"))
        }
        failures = dict(
            WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED)
            .values("provider").annotate(count=Count("id")).values_list("provider", "count")
        )
        for provider in WebhookEvent.Provider.values:
            row = rows.get(provider)
            pending.add_metric([provider], row["count"] if row else 0)
            age.add_metric([provider], (now - row["oldest"]).total_seconds() if row else 0)
            failed.add_metric([provider], failures.get(provider, 0))
        yield from (pending, age, failed)

    def _queues(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("askpro_celery_queue_length", "Tasks waiting in a Celery queue", labels=["queue"])
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)
        try:
            for queue in settings.CELERY_TASK_QUEUES_NAMES:
                family.add_metric([queue], int(client.llen(queue)))
        except redis.RedisError:
            pass  # no samples: the alert on absent data fires
        finally:
            client.close()
        return family

    def _breakers(self) -> GaugeMetricFamily:
        from integrations.http import KNOWN_PROVIDERS, breaker_for

        family = GaugeMetricFamily(
            "askpro_circuit_breaker_state", "1 for the current state of a provider's breaker", labels=["provider", "state"]
        )
        for provider in KNOWN_PROVIDERS:
            try:
                current = breaker_for(provider).snapshot()["breaker"]
            except redis.RedisError:
                continue
            for state in BREAKER_STATES:
                family.add_metric([provider, state], 1 if current == state else 0)
        return family

    def _tenants(self) -> GaugeMetricFamily:
        from django_tenants.utils import get_public_schema_name

        from tenants.models import Tenant

        family = GaugeMetricFamily("askpro_tenants", "Tenants by status", labels=["status"])
        counts = dict(
            Tenant.objects.filter(is_template=False).exclude(schema_name=get_public_schema_name())
            .values("status").annotate(count=Count("id")).values_list("status", "count")
        )
        for status in Tenant.Status.values:
            family.add_metric([status], counts.get(status, 0))
        return family


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not is_operator_request(request, settings.HEALTH_TOKEN):
        return error_response("OPERATOR_ONLY", _("Only operators may read the metrics."), 403)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AskProCollector())
    if settings.METRICS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.METRICS_MULTIPROC_DIR)  # every worker's samples
    else:
        registry.register(request_metrics.REQUEST_LATENCY)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
