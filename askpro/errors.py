"""Domain errors and the one place that maps them to HTTP responses.

Every app defines its errors as subclasses of :class:`DomainError` with a stable ``code``.
Views never build error bodies by hand; they raise, and the handler answers
``{"success": false, "error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A refused business action. ``code`` is machine readable, ``message`` is for humans."""

    code = "DOMAIN_ERROR"
    http_status = 400
    default_message: Any = _("The request could not be completed.")

    def __init__(self, message: Any = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.details = details or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self.message), "details": self.details}


class NotFound(DomainError):
    code = "NOT_FOUND"
    http_status = 404
    default_message = _("The requested object does not exist.")


class Conflict(DomainError):
    code = "CONFLICT"
    http_status = 409
    default_message = _("The request conflicts with the current state.")


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    http_status = 400
    default_message = _("Some fields are invalid.")


def error_body(code: str, message: Any, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": str(message), "details": details or {}}}


def error_response(
    code: str, message: Any, status: int, details: dict[str, Any] | None = None
) -> JsonResponse:
    """A JSON error for plain Django views (webhooks, health)."""
    return JsonResponse(error_body(code, message, details), status=status)


_DRF_CODES: dict[type[Exception], tuple[str, Any]] = {
    drf_exceptions.NotAuthenticated: ("AUTHENTICATION_REQUIRED", _("Authentication is required.")),
    drf_exceptions.AuthenticationFailed: ("AUTHENTICATION_FAILED", _("The credentials are invalid.")),
    drf_exceptions.PermissionDenied: ("PERMISSION_DENIED", _("You may not do this.")),
    drf_exceptions.NotFound: ("NOT_FOUND", _("The requested object does not exist.")),
    drf_exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", _("This method is not allowed here.")),
    drf_exceptions.ParseError: ("MALFORMED_REQUEST", _("The request body could not be parsed.")),
    drf_exceptions.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", _("Send JSON.")),
    drf_exceptions.NotAcceptable: ("NOT_ACCEPTABLE", _("The requested format is not available.")),
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF EXCEPTION_HANDLER: every API error has the same shape, and no error is a bare 500."""
    if isinstance(exc, DomainError):
        return Response({"success": False, "error": exc.as_dict()}, status=exc.http_status)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable for an API request: %s", exc)
        response = Response(
            error_body("DATABASE_UNAVAILABLE", _("The service is temporarily unavailable.")), status=503,
        )
        response["Retry-After"] = "5"
        return response
    if isinstance(exc, RecursionError):
        return Response(error_body("JSON_TOO_DEEP", _("The request is nested too deeply.")), status=400)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.Throttled):
        wait = int(exc.wait or 1)
        response = Response(
            error_body(
                "RATE_LIMITED",
                _("Too many requests. Try again in %(seconds)s seconds.") % {"seconds": wait},
                {"retry_after": wait},
            ),
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    if isinstance(exc, drf_exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return Response(
            error_body("VALIDATION_ERROR", _("Some fields are invalid."), {"fields": details}),
            status=400,
        )
    for exc_type, (code, message) in _DRF_CODES.items():
        if isinstance(exc, exc_type):
            response = Response(error_body(code, message), status=exc.status_code)  # type: ignore[attr-defined]
            for header in ("WWW-Authenticate", "Allow"):
                value = getattr(exc, "auth_header", None) if header == "WWW-Authenticate" else None
                if value:
                    response[header] = value
            return response
    if isinstance(exc, drf_exceptions.APIException):
        return Response(error_body(exc.default_code.upper(), exc.detail), status=exc.status_code)
    logger.exception("unhandled API error", exc_info=exc)
    return Response(
        error_body("INTERNAL_ERROR", _("Something went wrong on our side. It has been logged.")),
        status=500,
    )
