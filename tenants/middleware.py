"""Tenant resolution by host name, with JSON answers for unknown hosts and suspended tenants."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name, get_tenant_domain_model, get_tenant_model

from askpro.errors import error_response
from askpro.lru import BoundedCache
from askpro.tenancy import in_public_schema
from tenants import routing_cache

# hostname -> (expires_at, generation, tenant); a short process-local cache spares one query per
# request; tenants.routing_cache invalidates it across processes (a suspension applies at once).
# At most ASKPRO_TENANT_CACHE_SIZE hosts (least recently used dropped): flat with 1,000 tenants.
_tenant_cache: BoundedCache[str, tuple[float, int | None, Any]] = BoundedCache(settings.ASKPRO_TENANT_CACHE_SIZE)


def forget_cached_tenants() -> None:
    _tenant_cache.clear()


def tenant_for_host(hostname: str) -> Any:
    """The tenant serving ``hostname``: its Domain row, else the public tenant for PUBLIC_HOSTS.

    Cached per process for ASKPRO_TENANT_CACHE_SECONDS. Query it on the public schema; raises
    ``Domain.DoesNotExist`` for an unknown host (``Tenant.DoesNotExist`` without a public tenant).
    """
    ttl = settings.ASKPRO_TENANT_CACHE_SECONDS
    generation = routing_cache.current() if ttl else None
    cached = _tenant_cache.get(hostname)
    if cached and cached[0] > time.monotonic() and (generation is None or cached[1] == generation):
        return cached[2]
    domain_model = get_tenant_domain_model()
    try:
        tenant = domain_model.objects.select_related("tenant").get(domain=hostname).tenant
    except domain_model.DoesNotExist:
        if hostname not in settings.PUBLIC_HOSTS:
            raise
        tenant = get_tenant_model().objects.get(schema_name=get_public_schema_name())
    if ttl:
        _tenant_cache[hostname] = (time.monotonic() + ttl, generation, tenant)
    return tenant


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 ``DATABASE_UNAVAILABLE`` in the caller's language: the provider or client retries."""
    with _request_language(request):
        return error_response("DATABASE_UNAVAILABLE", _("The service is temporarily unavailable."), 503)


class TenantResolutionMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        return tenant_for_host(hostname)

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        with _request_language(request):
            return error_response(
                "TENANT_NOT_FOUND",
                _("No AskPro account is configured for the host %(host)s.") % {"host": hostname},
                404,
            )

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            return super().process_request(request)
        except (OperationalError, InterfaceError):
            if request.path.startswith("/api/health"):
                # Health must still answer (503 "down") when the database is unreachable.
                request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
                return None
            return database_unavailable(request)
        except get_tenant_model().DoesNotExist:
            with _request_language(request):
                return error_response(
                    "PLATFORM_NOT_INITIALISED",
                    _("The platform has no public tenant yet. Run `manage.py migrate_schemas` and `manage.py seed_demo`."),
                    503,
                )


def _request_language(request: HttpRequest) -> translation.override:
    # These answers come before LocaleMiddleware has run (it needs the tenant's urlconf),
    # so they pick the caller's language (Accept-Language, cookie) themselves.
    return translation.override(translation.get_language_from_request(request))


# These answer a suspended tenant themselves, in the form their caller understands
# (Retell's inbound webhook answers "reject"; function calls answer a sentence to speak).
SUSPENSION_EXEMPT_PATHS = ("/api/health", "/webhooks/retell/", "/api/retell/")


class SuspendedTenantMiddleware:
    """A suspended tenant's host answers 403 (JSON for API paths) until an operator reactivates it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and not in_public_schema()
            and getattr(tenant, "status", "active") != "active"
            and not request.path.startswith(SUSPENSION_EXEMPT_PATHS)
        ):
            return error_response(
                "TENANT_SUSPENDED",
                _("This account is suspended. Please contact AskPro support."),
                403,
            )
        return self.get_response(request)
