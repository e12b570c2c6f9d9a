"""Cal.com sync endpoints on tenant hosts (API key or staff session, like the booking API).

``POST /api/v2/calcom/push-event-types``, ``POST /api/v2/calcom/detect-drift``,
``POST /api/v2/calcom/auto-resolve`` ``{"strategy": "platform_wins" | "calcom_wins"}``. Errors have
the common shape ``{"success": false, "error": {"code", "message", "details"}}``: 409
``CALCOM_NOT_CONNECTED``, 400 ``INVALID_STRATEGY``, 502/503 from Cal.com (``CALCOM_*``, ``CIRCUIT_OPEN``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from appointments.api.auth import ApiKeyAuthentication, ApiKeyRateThrottle, IsApiClientOrStaff
from appointments.api.views import ERROR_SHAPE, ERRORS
from integrations.calcom import drift, push
from integrations.calcom.errors import InvalidStrategy
from integrations.calcom.models import ConflictStrategy

# Cal.com's own refusals pass through: 502 CALCOM_*, 503 CALCOM_RATE_LIMITED / CIRCUIT_OPEN.
CALCOM_ERRORS = {**ERRORS, 502: ERROR_SHAPE, 503: ERROR_SHAPE}

# As in the old system: pushing event types 10 per 5 minutes, drift runs 30 per minute.
DEFAULT_RATES = {"calcom_event_types": "10/5min", "calcom_drift": "30/min"}


class CalcomThrottle(ApiKeyRateThrottle):
    def get_rate(self) -> str:
        rates = {**DEFAULT_RATES, **settings.ASKPRO_API_THROTTLE_RATES}
        return rates[self.scope] if self.scope in rates else super().get_rate()

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        if rate is None:
            return None, None
        count, _sep, period = rate.partition("/")
        digits = "".join(ch for ch in period if ch.isdigit())
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.lstrip("0123456789")[0]]
        return int(count), seconds * (int(digits) if digits else 1)


class CalcomApiView(APIView):
    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [IsApiClientOrStaff]
    throttle_classes = [CalcomThrottle]


@extend_schema_field({"type": "string", "enum": ["platform_wins", "calcom_wins", ""]})
class StrategyField(serializers.CharField):
    """A strategy name; another value is refused by the view as ``INVALID_STRATEGY``."""


class StrategyRequest(serializers.Serializer):
    strategy = StrategyField(required=False, allow_blank=True, help_text="platform_wins or calcom_wins")


class PushEventTypesView(CalcomApiView):
    throttle_scope = "calcom_event_types"

    @extend_schema(request=None, responses={200: inline_serializer("PushEventTypes", {
        "success": serializers.BooleanField(), "event_types_created": serializers.IntegerField(),
        "event_types_updated": serializers.IntegerField(), "errors": serializers.ListField()}), **CALCOM_ERRORS},
        summary="Create or update a Cal.com event type per active service", tags=["calcom"])
    def post(self, request: Request) -> Response:
        return Response(push.push_event_types().as_dict())


class DetectDriftView(CalcomApiView):
    throttle_scope = "calcom_drift"

    @extend_schema(request=None, responses={200: inline_serializer("DetectDrift", {
        "success": serializers.BooleanField(), "drift_detected": serializers.BooleanField(),
        "total_appointments": serializers.IntegerField(), "drifted_appointments": serializers.IntegerField(),
        "details": serializers.ListField(child=serializers.DictField())}), **CALCOM_ERRORS},
        summary="Compare appointments with Cal.com bookings changed since the last run", tags=["calcom"])
    def post(self, request: Request) -> Response:
        return Response(drift.detect_drift(full=_flag(request.data, "full")).as_dict())


class AutoResolveView(CalcomApiView):
    throttle_scope = "calcom_drift"

    @extend_schema(request=StrategyRequest, responses={200: inline_serializer("AutoResolve", {
        "success": serializers.BooleanField(), "strategy": serializers.CharField(),
        "resolved_count": serializers.IntegerField(), "failed_count": serializers.IntegerField(),
        "manual_review_count": serializers.IntegerField()}), **CALCOM_ERRORS},
        summary="Resolve open drift by strategy (attendee differences go to manual review)", tags=["calcom"])
    def post(self, request: Request) -> Response:
        data = StrategyRequest(data=request.data)
        data.is_valid(raise_exception=True)
        strategy = data.validated_data.get("strategy") or None
        if strategy is not None and strategy not in ConflictStrategy.values:
            raise InvalidStrategy(details={"strategy": strategy, "allowed": list(ConflictStrategy.values)})
        return Response(drift.resolve_drift(strategy).as_dict())


def _flag(data: Any, name: str) -> bool:
    value = data.get(name) if hasattr(data, "get") else None
    return value in (True, "true", "1", 1)
