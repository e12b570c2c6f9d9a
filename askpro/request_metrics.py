"""Request latency by view, recorded by :class:`RequestMetricsMiddleware` in every web process.

Labels are bounded: ``view`` is the resolved URL name (``admin:appointments_appointment_changelist``)
or, for a pattern without a name, its route (``api/appointments/<int:pk>/``); a request that matched
no pattern is ``unmatched``. Never the raw path (ids, tokens and scanners' junk would explode the
series). ``status`` is the class (``2xx`` ... ``5xx``).

Granian runs several worker processes. With ``PROMETHEUS_MULTIPROC_DIR`` set (prometheus_client's
multiprocess mode; read in settings as ``METRICS_MULTIPROC_DIR``, set by the dev runner and the
compose file), each process writes its samples to files there and a scrape of any worker sums
them all (``askpro.metrics``). Without it (tests, a single process) the in-process histogram is
scraped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Histogram

# Seconds; the admin's slow pages and the voice agent's tight budget both fall in a bucket.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "askpro_http_request_duration_seconds", "Time from request to response, by resolved view",
    labelnames=("view", "method", "status"), buckets=BUCKETS, registry=None,
)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name if match.url_name else (match.route or "unmatched")


def observe(*, view: str, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(
        view=view, method=method if method in METHODS else "OTHER", status=f"{status // 100}xx",
    ).observe(seconds)


class RequestMetricsMiddleware:
    """Times every request; first in the chain so tenant resolution and login count too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        observe(view=view_label(request), method=request.method or "", status=response.status_code,
                seconds=time.perf_counter() - started)
        return response
