"""Content-Security-Policy (django-csp 4): one strict policy, one documented exception.

Scripts run only from our own origin or with the per-request nonce. The admin is the exception:
django-unfold drives its pages with Alpine.js, whose standard build evaluates the ``x-data`` /
``@click`` expressions written in unfold's templates with ``new Function`` and so needs
``'unsafe-eval'``. Alpine's CSP build cannot evaluate those inline expressions (it only accepts
components registered with ``Alpine.data``), so switching builds would break unfold. We therefore
add ``'unsafe-eval'`` to admin responses only; inline scripts stay forbidden there as well.
"""

from __future__ import annotations

from csp.constants import UNSAFE_EVAL
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

ADMIN_PREFIX = "/admin/"


class AskProCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path.startswith(ADMIN_PREFIX):
            parts.update = {**(parts.update or {}), "script-src": [UNSAFE_EVAL]}
        return parts

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response = super().process_response(request, response)
        if settings.PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = settings.PERMISSIONS_POLICY
        return response
