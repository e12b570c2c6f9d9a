from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from askpro.logging import correlation_id

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def correlation_id_for(incoming: str) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    return incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex


class CorrelationIdMiddleware:
    """Take X-Request-ID from the caller (or make one), expose it to logs and the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        value = correlation_id_for(request.headers.get("X-Request-ID", ""))
        request.correlation_id = value  # type: ignore[attr-defined]
        token = correlation_id.set(value)
        try:
            response = self.get_response(request)
        finally:
            correlation_id.reset(token)
        response["X-Request-ID"] = value
        return response
