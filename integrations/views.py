"""Webhook endpoints: verify -> store -> queue after commit -> answer, in milliseconds.

Stripe gets 200 JSON, Retell 204, Cal.com 200. A missing, wrong or stale signature gets 401
``SIGNATURE_INVALID`` (logged to ``askpro.security``, nothing stored); a signed body that is not
JSON gets 400 and is kept for inspection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection as db_connection
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django_tenants.utils import get_public_schema_name, quote_schema_name

from askpro.errors import error_response
from integrations import providers, services
from integrations.errors import (
    MalformedPayload,
    SignatureInvalid,
    WebhookRateLimited,
    WebhookTenantUnknown,
)

security_log = logging.getLogger("askpro.security")
logger = logging.getLogger(__name__)


def webhook_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """POST only, CSRF exempt, no login, rate limited per source IP, never inside ATOMIC_REQUESTS."""

    @csrf_exempt
    @transaction.non_atomic_requests
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            response = error_response("METHOD_NOT_ALLOWED", _("This method is not allowed here."), 405)
            response["Allow"] = "POST"
            return response
        if over_rate_limit(source_ip(request)):
            error = WebhookRateLimited()
            response = error_response(error.code, error.message, error.http_status)
            response["Retry-After"] = "60"
            return response
        return view(request, *args, **kwargs)

    return wrapped


def source_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def over_rate_limit(source: str) -> bool:
    limit = settings.WEBHOOK_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return False
    key = f"webhook-rate:{source}:{int(time.time() // 60)}"
    try:
        cache.add(key, 0, timeout=120)
        return int(cache.incr(key)) > limit
    except Exception:  # a cache outage must not cost us provider events
        return False


def _receive(request: HttpRequest, provider: str, *, tenant: Any = None, calcom_secret: str = "") -> HttpResponse:
    spec = providers.provider_spec(provider)
    raw_body = request.body
    header = request.headers.get(spec.signature_header, "")
    sender = source_ip(request)
    correlation = getattr(request, "correlation_id", "")
    try:
        payload = providers.verify(provider, raw_body, header, tenant=tenant, calcom_secret=calcom_secret)
    except SignatureInvalid as exc:
        security_log.warning(
            "rejected %s webhook from %s: %s (tenant=%s, %s bytes)", provider, sender,
            exc.details.get("reason", "invalid"), getattr(tenant, "slug", "-"), len(raw_body),
        )
        return error_response(exc.code, exc.message, exc.http_status)
    except MalformedPayload as exc:
        event = services.keep_malformed_webhook(
            provider, raw_body, exc, headers=dict(request.headers), source_ip=sender,
            tenant=tenant, correlation_id=correlation,
        )
        logger.warning("kept malformed %s webhook as event %s", provider, event.pk)
        return error_response(exc.code, exc.message, exc.http_status, {"event_id": event.pk, **exc.details})
    receipt = services.receive_webhook(
        provider, raw_body, payload, headers=dict(request.headers), source_ip=sender,
        tenant=tenant, correlation_id=correlation,
    )
    return webhook_answer(provider, receipt)


def webhook_answer(provider: str, receipt: services.Receipt) -> HttpResponse:
    """What a provider gets for a stored delivery (also answered by the lean front, integrations.ingest)."""
    if provider == "retell":
        return HttpResponse(status=204)
    return JsonResponse(
        {"success": True, "received": True, "duplicate": not receipt.created, "event_id": receipt.event_id},
        status=providers.provider_spec(provider).success_status,
    )


@webhook_endpoint
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    return _receive(request, "stripe")


@webhook_endpoint
def retell_webhook(request: HttpRequest) -> HttpResponse:
    return _receive(request, "retell")


def calcom_secret(tenant: Any) -> str:
    """The tenant's Cal.com webhook secret ("" when Cal.com is not connected or inactive).

    One statement on the tenant's table named with its schema, so the connection's schema is not
    switched there and back (two ``SET search_path`` round trips per delivery)."""
    from integrations.calcom.models import CalcomConnection

    meta = CalcomConnection._meta
    columns = {field.name: field for field in meta.concrete_fields}
    field, active = columns["webhook_secret"], columns["is_active"]
    quote = db_connection.ops.quote_name
    table = f"{quote_schema_name(tenant.schema_name)}.{quote(str(meta.db_table))}"
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote(str(field.column))} FROM {table} WHERE {quote(str(active.column))}"  # noqa: S608
            f" ORDER BY {quote(str(meta.pk.column if meta.pk else 'id'))} LIMIT 1",  # what .filter(is_active=True).first() reads
        )
        row = cursor.fetchone()
    if row is None:
        return ""
    return str(field.from_db_value(row[0], None, db_connection) or "")  # type: ignore[attr-defined]


def calcom_webhook_tenant(slug: str) -> Any:
    """The tenant a platform-host Cal.com webhook URL names (never the template or public), or None."""
    from tenants.models import Tenant

    with services.public_schema():  # switched only when needed (a switch costs a SET search_path)
        return Tenant.objects.filter(slug=slug, is_template=False).exclude(
            schema_name=get_public_schema_name()
        ).first()


@webhook_endpoint
def calcom_webhook_tenant_host(request: HttpRequest) -> HttpResponse:
    """``POST /api/calcom/webhook`` on the tenant's own host."""
    return _receive(request, "calcom", tenant=request.tenant, calcom_secret=calcom_secret(request.tenant))  # type: ignore[attr-defined]


@webhook_endpoint
def calcom_webhook_public_host(request: HttpRequest, slug: str) -> HttpResponse:
    """``POST /api/calcom/webhook/<tenant-slug>`` on the platform host."""
    tenant = calcom_webhook_tenant(slug)
    if tenant is None:
        error = WebhookTenantUnknown()
        security_log.warning("calcom webhook for unknown tenant %r from %s", slug, source_ip(request))
        return error_response(error.code, error.message, error.http_status)
    return _receive(request, "calcom", tenant=tenant, calcom_secret=calcom_secret(tenant))
