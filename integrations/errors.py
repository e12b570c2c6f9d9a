"""Errors of the integrations domain: webhook receipt and outbound provider calls."""

from __future__ import annotations

from enum import StrEnum, unique
from typing import Any

from django.utils.translation import gettext_lazy as _

from askpro.errors import DomainError


@unique
class IntegrationErrorCode(StrEnum):
    """Every code the integrations app answers with, declared once; exception classes refer to these."""

    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    MALFORMED_PAYLOAD = "MALFORMED_PAYLOAD"
    RATE_LIMITED = "RATE_LIMITED"
    TENANT_NOT_FOUND = "TENANT_NOT_FOUND"
    INTEGRATION_ERROR = "INTEGRATION_ERROR"
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    CALCOM_NOT_CONNECTED = "CALCOM_NOT_CONNECTED"
    INVALID_STRATEGY = "INVALID_STRATEGY"
    CALCOM_ERROR = "CALCOM_ERROR"
    CALCOM_AUTH_FAILED = "CALCOM_AUTH_FAILED"
    CALCOM_RATE_LIMITED = "CALCOM_RATE_LIMITED"
    CALCOM_VALIDATION_FAILED = "CALCOM_VALIDATION_FAILED"
    CALCOM_SLOT_UNAVAILABLE = "CALCOM_SLOT_UNAVAILABLE"
    CALCOM_NOT_FOUND = "CALCOM_NOT_FOUND"
    CALCOM_CONFLICT = "CALCOM_CONFLICT"
    CALCOM_UNAVAILABLE = "CALCOM_UNAVAILABLE"


class SignatureInvalid(DomainError):
    """A webhook whose signature is missing, wrong or stale. Nothing was stored or processed."""

    code = IntegrationErrorCode.SIGNATURE_INVALID
    http_status = 401
    default_message = _("The webhook signature is missing, invalid or expired.")


class MalformedPayload(DomainError):
    """A correctly signed body that is not a JSON object; kept for inspection."""

    code = IntegrationErrorCode.MALFORMED_PAYLOAD
    http_status = 400
    default_message = _("The webhook body is not valid JSON.")


class WebhookRateLimited(DomainError):
    code = IntegrationErrorCode.RATE_LIMITED
    http_status = 429
    default_message = _("Too many webhook requests from this source. Try again in a minute.")


class WebhookTenantUnknown(DomainError):
    code = IntegrationErrorCode.TENANT_NOT_FOUND
    http_status = 404
    default_message = _("No AskPro account matches this webhook address.")


class IntegrationError(DomainError):
    """An outbound call to a provider failed; ``provider`` names it."""

    code = IntegrationErrorCode.INTEGRATION_ERROR
    http_status = 502
    default_message = _("The external service answered with an error.")

    def __init__(
        self, message: Any = None, *, provider: str = "", status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        super().__init__(message, details=details)


class ProviderUnavailable(IntegrationError):
    """The provider did not answer usefully (timeouts, 5xx, connection refused) after retries."""

    code = IntegrationErrorCode.PROVIDER_UNAVAILABLE
    http_status = 503
    default_message = _("The external service is not reachable right now. Please try again later.")


class CircuitOpen(ProviderUnavailable):
    """The circuit breaker is open: the call was not attempted."""

    code = IntegrationErrorCode.CIRCUIT_OPEN
    default_message = _("The external service is failing; calls are paused for a moment.")
