"""The frame every HTTP request passes before any view: body size, JSON depth, chunked bodies and
JSON answers for the errors no view handles (a database outage, an unhandled exception).

* **Size.** Provider webhook paths (Retell function calls and call webhooks, Stripe, Cal.com,
  Twilio) accept bodies up to ``ASKPRO_WEBHOOK_MAX_BODY_BYTES`` (25 MB: a two-hour call's
  ``call_ended`` with its word-timed transcript is several MB), every other path up to
  ``ASKPRO_MAX_BODY_BYTES`` (2.5 MB). Larger: 413 ``REQUEST_TOO_LARGE``, before the body is read.
* **Depth.** A body that is JSON (first non-blank byte ``{`` or ``[``) nested deeper than
  ``ASKPRO_MAX_JSON_DEPTH`` (64) answers 400 ``JSON_TOO_DEEP`` before anything parses it (Python's
  parser would raise RecursionError at about 1,000 levels, deep inside a view).
* **Chunked bodies.** A WSGI server hands a ``Transfer-Encoding: chunked`` body without
  ``CONTENT_LENGTH``; Django then reads it as empty. :class:`ChunkedBodies` reads it (bounded by
  the size limit) and sets ``CONTENT_LENGTH`` first.
* **Outages and bugs.** A database that is unavailable answers 503 ``DATABASE_UNAVAILABLE``
  (JSON; admin pages get a plain 503 page); an unhandled exception on an API or webhook path
  answers JSON 500 ``INTERNAL_ERROR``, never Django's HTML page. Unknown API paths (a
  non-integer id) answer JSON 404 (``handler404`` of both URL configurations).

Healthchecks' ``hc/api/decorators.py`` is the model: one frame per kind of request, so views keep
to their business.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

# Paths providers post to: their bodies may be large (transcripts), never those of clients.
PROVIDER_PATHS = ("/webhooks/", "/api/retell/", "/api/calcom/webhook", "/billing/webhook")
# Paths whose every answer is JSON (the admin and the API docs page may answer HTML).
JSON_PATHS = ("/api/", "/webhooks/", "/billing/webhook")


class FrameError(StrEnum):
    """Codes of the answers the frame gives itself (declared once, as each app's error codes)."""

    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    JSON_TOO_DEEP = "JSON_TOO_DEEP"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    NOT_FOUND = "NOT_FOUND"
    MALFORMED_REQUEST = "MALFORMED_REQUEST"


def body_limit(path: str) -> int:
    """The largest body accepted on ``path``, in bytes."""
    if path.startswith(PROVIDER_PATHS):
        return int(settings.ASKPRO_WEBHOOK_MAX_BODY_BYTES)
    return int(settings.ASKPRO_MAX_BODY_BYTES)


def wants_json(path: str) -> bool:
    return path.startswith(JSON_PATHS)


def json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the JSON text ``raw`` nests arrays/objects deeper than ``limit`` (brackets inside
    strings do not count). Linear, and free for bodies with fewer brackets than the limit."""
    if raw[:1] not in (b"{", b"[") and raw.lstrip()[:1] not in (b"{", b"["):
        return False
    if raw.count(b"{") + raw.count(b"[") <= limit:
        return False
    depth = 0
    in_string = False
    escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return False


def frame_error(code: FrameError, status: int, message: Any, **details: Any) -> JsonResponse:
    """The JSON error of the frame, in the caller's language (German unless they ask otherwise)."""
    body = {"success": False, "error": {"code": str(code), "message": str(message), "details": details}}
    body["message"] = str(message)  # Retell reads ``message`` out; other clients ignore it
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def too_large(limit: int) -> JsonResponse:
    return frame_error(
        FrameError.REQUEST_TOO_LARGE, 413, _("The request is too large."), max_bytes=limit,
    )


def too_deep(limit: int) -> JsonResponse:
    return frame_error(
        FrameError.JSON_TOO_DEEP, 400, _("The request is nested too deeply."), max_depth=limit,
    )


def database_unavailable_answer(request: HttpRequest) -> HttpResponse:
    """503 while the database is unreachable: JSON for API and webhook paths, a plain page elsewhere."""
    with translation.override(translation.get_language_from_request(request)):
        message = _("The service is temporarily unavailable.")
    if wants_json(request.path):
        response: HttpResponse = frame_error(FrameError.DATABASE_UNAVAILABLE, 503, message)
    else:
        response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "5"
    return response


def _declared_length(meta: dict[str, Any]) -> int | None:
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class RequestFrameMiddleware:
    """Size and depth limits before any other work; 503/500 as JSON for what views do not handle.

    Placed right after the correlation-id middleware, before the tenant is resolved."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self.refuse(request)
        if refused is not None:
            return refused
        return self.get_response(request)

    def refuse(self, request: HttpRequest) -> HttpResponse | None:
        limit = body_limit(request.path)
        length = _declared_length(request.META)
        with translation.override(translation.get_language_from_request(request)):
            if length is None:
                return frame_error(FrameError.MALFORMED_REQUEST, 400, _("The request could not be read."))
            if length > limit:
                return too_large(limit)
            if not length:
                return None
            try:
                raw = request.body
            except RequestDataTooBig:
                return too_large(limit)
            depth = int(settings.ASKPRO_MAX_JSON_DEPTH)
            if json_depth_exceeds(raw, depth):
                return too_deep(depth)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            logger.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
            return database_unavailable_answer(request)
        if isinstance(exception, RequestDataTooBig):
            return too_large(body_limit(request.path))
        if isinstance(exception, RecursionError):
            return too_deep(int(settings.ASKPRO_MAX_JSON_DEPTH))
        if wants_json(request.path):
            logger.exception("unhandled error on %s %s", request.method, request.path, exc_info=exception)
            return frame_error(FrameError.INTERNAL_ERROR, 500, _("Something went wrong on our side. It has been logged."))
        return None


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: JSON on API and webhook paths, Django's page elsewhere (admin)."""
    if wants_json(request.path):
        return frame_error(FrameError.NOT_FOUND, 404, _("This address does not exist."), path=request.path)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: JSON on API and webhook paths, Django's page elsewhere."""
    if wants_json(request.path):
        return frame_error(FrameError.INTERNAL_ERROR, 500, _("Something went wrong on our side. It has been logged."))
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)


StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ChunkedBodies:
    """WSGI middleware: a body without ``CONTENT_LENGTH`` (``Transfer-Encoding: chunked``) is read
    here, up to the path's limit, and handed on with its length; a larger one answers 413."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("CONTENT_LENGTH") in (None, "") and "chunked" in str(
            environ.get("HTTP_TRANSFER_ENCODING", "")
        ).lower():
            limit = body_limit(environ.get("PATH_INFO", ""))
            stream = environ["wsgi.input"]
            chunks: list[bytes] = []
            size = 0
            while size <= limit:
                chunk = stream.read(min(65536, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if size > limit:
                with translation.override("de"):
                    response = too_large(limit)
                start_response(
                    f"{response.status_code} {response.reason_phrase}",
                    [*response.items(), ("Content-Length", str(len(response.content))), ("Connection", "close")],
                )
                return [response.content]
            environ["wsgi.input"] = io.BytesIO(b"".join(chunks))
            environ["CONTENT_LENGTH"] = str(size)
        return self.app(environ, start_response)
