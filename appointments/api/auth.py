"""API authentication by per-tenant key, and per-key throttling in the shared cache (Redis)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from appointments.api_keys import authenticate_key
from appointments.models import ApiKey

logger = logging.getLogger(__name__)

# Per key and scope, as in the old system; override with settings.ASKPRO_API_THROTTLE_RATES.
DEFAULT_RATES = {
    "availability": "60/min",
    "bookings": "30/min",
    "booking_changes": "10/min",
    "booking_reads": "120/min",
}


@dataclass(frozen=True)
class ApiClient:
    """The caller behind an API key (stands in for request.user)."""

    key: ApiKey
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    pk: None = None

    @property
    def actor(self) -> str:
        return f"api:{self.key.prefix}"


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer ak_...`` or ``X-Api-Key: ak_...``, looked up in the host's schema."""

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        raw = request.META.get("HTTP_X_API_KEY", "")
        if header:
            scheme, _sep, value = header.partition(" ")
            if scheme.lower() != "bearer":
                return None
            raw = value.strip()
        if not raw:
            return None
        key = authenticate_key(raw)
        if key is None:
            raise AuthenticationFailed()
        return ApiClient(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="askpro"'


class IsApiClientOrStaff(BasePermission):
    """An API key of this tenant, or a logged-in staff user of this tenant's admin."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if isinstance(user, ApiClient):
            return True
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def actor_of(request: Request) -> str:
    if isinstance(request.user, ApiClient):
        return request.user.actor
    return f"admin:{request.user.pk}"


class ApiKeyRateThrottle(SimpleRateThrottle):
    """A per-key (or per-user) limit for the view's ``throttle_scope``."""

    def __init__(self) -> None:  # the rate depends on the view, see allow_request
        pass

    def get_rate(self) -> str:
        rates = {**DEFAULT_RATES, **getattr(settings, "ASKPRO_API_THROTTLE_RATES", {})}
        return rates[self.scope]

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = getattr(view, "throttle_scope", None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except Exception:  # the limiter never takes the API down (cache Redis unreachable)
            logger.warning("API rate limiter unavailable; request let through", exc_info=True)
            return True

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.user, ApiClient):
            ident = f"key:{request.user.key.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"
