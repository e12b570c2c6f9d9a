"""The lean front of the platform webhooks ``POST /webhooks/retell``, ``POST /webhooks/stripe`` and
``POST /api/calcom/webhook/<tenant-slug>``.

Providers deliver in bursts and retry slow answers, so their happy path skips Django's middleware
and URL resolving: platform host -> rate limit -> signature and JSON -> store + dispatch flag ->
answer, with the same functions the views use. Anything else (a bad or missing signature,
malformed JSON, another method or host, an exception) is handed to the Django application with
the body re-wrapped, so error answers, the security log and keeping malformed bodies have one
implementation. A database error answers 503 so the provider delivers again.

``askpro.wsgi`` composes it: ``application = WebhookFront(get_wsgi_application())``.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIRequest
from django.db import Error as DatabaseError
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name

from askpro.logging import correlation_id
from askpro.lru import BoundedCache
from askpro.middleware import correlation_id_for
from askpro.request_frame import body_limit, json_depth_exceeds
from askpro.tenancy import in_public_schema, use_public_schema
from integrations import inbox, providers, services
from integrations.errors import MalformedPayload, SignatureInvalid
from integrations.views import (
    calcom_secret,
    calcom_webhook_tenant,
    over_rate_limit,
    source_ip,
    webhook_answer,
)
from tenants import routing_cache
from tenants.middleware import database_unavailable, tenant_for_host

logger = logging.getLogger(__name__)

# Exactly these paths (the providers' configured URLs); /webhooks/retell/inbound answers the call
# synchronously and stays in Django.
ROUTES = {"/webhooks/retell": "retell", "/webhooks/stripe": "stripe"}
# Cal.com on the platform host, one URL per tenant (as integrations/urls_public.py routes it); the
# tenant host's /api/calcom/webhook stays in Django.
CALCOM_ROUTE = re.compile(r"^/api/calcom/webhook/(?P<slug>[a-z0-9-]+)/?$")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class WebhookFront:
    """WSGI middleware: answers a valid platform webhook itself, hands everything else to ``app``."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        inbox.discover_handlers()  # queue_for() needs the handler registry: import it at boot, not on a delivery

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        provider, slug = ROUTES.get(path), ""
        if provider is None and (match := CALCOM_ROUTE.match(path)):
            provider, slug = "calcom", match["slug"]
        if provider is None or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        raw_body = _read_body(environ)
        if raw_body is None:
            return self.app(environ, start_response)
        response = self._answer(environ, provider, raw_body, slug)
        if response is None:
            environ["wsgi.input"] = io.BytesIO(raw_body)
            return self.app(environ, start_response)
        status, headers, content = response
        start_response(status, headers)
        return [content]

    def _answer(self, environ: dict[str, Any], provider: str, raw_body: bytes,
                slug: str = "") -> tuple[str, list[tuple[str, str]], bytes] | None:
        request_id = correlation_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        token = correlation_id.set(request_id)
        # As Django's handler does, so connections age, get health-checked and close as usual.
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            response = _ingest(environ, provider, raw_body, request_id, slug)
            return None if response is None else _wsgi_response(response, request_id)
        finally:
            signals.request_finished.send(sender=self.__class__)
            correlation_id.reset(token)


def _read_body(environ: dict[str, Any]) -> bytes | None:
    """The body when its length is declared, within the path's limit and not nested too deeply, else
    None (Django answers: 413, 400)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if length < 0 or length > body_limit(environ.get("PATH_INFO", "")):
        return None
    raw_body = bytes(environ["wsgi.input"].read(length) if length else b"")
    if json_depth_exceeds(raw_body, settings.ASKPRO_MAX_JSON_DEPTH):
        environ["wsgi.input"] = io.BytesIO(raw_body)  # Django's frame answers 400
        return None
    return raw_body


def _ingest(environ: dict[str, Any], provider: str, raw_body: bytes, request_id: str, slug: str = "") -> HttpResponse | None:
    """The answer for a valid delivery to the platform host; None: let Django answer.

    A Cal.com delivery names its tenant by slug and is signed with that tenant's secret: the tenant
    and the secret are read as the view reads them (``views.calcom_webhook_target``); an unknown
    slug, like a bad signature, is left to the view (404 and the security log)."""
    request = WSGIRequest(environ)
    try:
        hostname = TenantMainMiddleware.hostname_from_request(request)  # checks ALLOWED_HOSTS
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return None  # SecurityMiddleware redirects
        if not in_public_schema():  # a switch costs a SET search_path: only when needed
            use_public_schema()
        if tenant_for_host(hostname).schema_name != get_public_schema_name():
            return None
        sender = source_ip(request)
        if over_rate_limit(sender):
            return None
        spec = providers.provider_spec(provider)
        header = request.headers.get(spec.signature_header, "")
        tenant, secret = None, ""
        if provider == "calcom":
            tenant, secret = _calcom_target(slug)
            if tenant is None:
                return None
        payload = providers.verify(provider, raw_body, header, tenant=tenant, calcom_secret=secret)
    except SignatureInvalid:
        if slug:
            _calcom_targets.pop(slug)  # perhaps a rotated secret: the next delivery reads it afresh
        return None
    except MalformedPayload:
        return None
    except Exception:
        logger.debug("lean webhook front hands a %s delivery to Django", provider, exc_info=True)
        return None
    try:
        receipt = _store_on_kept_connection(lambda: services.receive_webhook(
            provider, raw_body, payload, headers=dict(request.headers), source_ip=sender,
            tenant=tenant, correlation_id=request_id,
        ))
    except DatabaseError as exc:
        logger.warning("could not store a %s webhook, answered 503 for a redelivery: %s", provider, exc)
        response = database_unavailable(request)
    except Exception:
        logger.exception("lean webhook front failed to store a %s delivery; Django answers it", provider)
        return None
    else:
        response = webhook_answer(provider, receipt)
    for name, value in _security_headers(request.is_secure()):
        response.headers.setdefault(name, value)
    return response


# slug -> (expires_at, routing generation, tenant, secret): a burst of one tenant's deliveries
# skips the two look-ups (as tenants.middleware caches hosts, for ASKPRO_TENANT_CACHE_SECONDS and
# the routing generation, so a suspension applies at once). A stale secret cannot let a wrong
# delivery in: the signature is still checked, a failure drops the entry and Django's view answers
# with a fresh read (a rotated secret works at once; the old one at most until the entry expires).
_calcom_targets: BoundedCache[str, tuple[float, int | None, Any, str]] = BoundedCache(settings.ASKPRO_TENANT_CACHE_SIZE)


def forget_calcom_targets() -> None:
    _calcom_targets.clear()


def _calcom_target(slug: str) -> tuple[Any, str]:
    """The tenant named by the slug and its Cal.com webhook secret (None, "" for an unknown slug);
    on the kept connection, without the health-check ping (a broken one fails here and Django answers)."""
    ttl = settings.ASKPRO_TENANT_CACHE_SECONDS
    generation = routing_cache.current() if ttl else None
    cached = _calcom_targets.get(slug)
    if cached is not None and cached[0] > time.monotonic() and (generation is None or cached[1] == generation):
        return cached[2], cached[3]
    if connection.connection is not None:
        connection.health_check_done = True  # type: ignore[attr-defined]
    tenant = calcom_webhook_tenant(slug)
    if tenant is None:
        return None, ""  # never cached: an unknown slug goes to Django (404, security log)
    secret = calcom_secret(tenant)
    if ttl:
        _calcom_targets[slug] = (time.monotonic() + ttl, generation, tenant, secret)
    return tenant, secret


def _store_on_kept_connection(store: Callable[[], services.Receipt]) -> services.Receipt:
    """Store on the kept database connection without Django's health check, replacing it if broken.

    With ``CONN_HEALTH_CHECKS`` Django pings a kept connection (``SELECT 1``) before a request's
    first query: a round trip that costs as much as the INSERT. Here the INSERT itself is the
    check: if a kept connection turns out broken (server restart, idle kill), it is closed and the
    store runs once more on a new connection. That is safe because the store is idempotent by event
    key: if the lost attempt had committed, the second one counts a duplicate, and the sweeper
    queues the event. A failure on a new connection is a real outage (503).
    """
    kept = connection.connection is not None
    if kept:
        # skip the ping of close_if_health_check_failed() (Django sets the flag; django-stubs omit it)
        connection.health_check_done = True  # type: ignore[attr-defined]
    try:
        return store()
    except (InterfaceError, OperationalError) as exc:
        if not kept or connection.is_usable():  # the connection is fine: a real error
            raise
        logger.info("kept database connection broke (%s); storing on a new one", exc)
        connection.close()
        return store()


def _wsgi_response(response: HttpResponse, request_id: str) -> tuple[str, list[tuple[str, str]], bytes]:
    response["X-Request-ID"] = request_id
    content = response.content
    response.headers.setdefault("Content-Length", str(len(content)))
    return f"{response.status_code} {response.reason_phrase}", list(response.items()), content


def _security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers SecurityMiddleware and XFrameOptionsMiddleware add to a Django answer."""
    headers = []
    if settings.SECURE_HSTS_SECONDS and secure:
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        hsts += "; includeSubDomains" if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS else ""
        hsts += "; preload" if settings.SECURE_HSTS_PRELOAD else ""
        headers.append(("Strict-Transport-Security", hsts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        headers.append(("Referrer-Policy", policy if isinstance(policy, str) else ",".join(policy)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    if settings.X_FRAME_OPTIONS:
        headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS))
    return headers
