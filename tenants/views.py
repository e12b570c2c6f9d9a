"""Diagnostics on tenant hosts: queue a probe task and read back the schema the worker used.

Operators only (``Authorization: Bearer $ASKPRO_HEALTH_TOKEN``): an anonymous caller must not be
able to queue work. CSRF does not apply to a bearer token, which no browser sends by itself.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from askpro.admin_auth import has_bearer_token
from askpro.errors import error_response
from askpro.outbox import delay_on_commit
from askpro.tenancy import current_schema
from tenants.tasks import record_task_probe


@csrf_exempt
@require_POST
def start_task_probe(request: HttpRequest) -> JsonResponse:
    if not has_bearer_token(request, settings.HEALTH_TOKEN):
        return _operator_only()
    probe_id = uuid.uuid4().hex
    delay_on_commit(record_task_probe, probe_id)  # a diagnostic: losing it to an outage is fine
    return JsonResponse(
        {"probe_id": probe_id, "queued_in_schema": current_schema(), "status": "queued"},
        status=202,
    )


@require_GET
def task_probe_result(request: HttpRequest, probe_id: str) -> JsonResponse:
    if not has_bearer_token(request, settings.HEALTH_TOKEN):
        return _operator_only()
    if len(probe_id) != 32:
        return error_response("NOT_FOUND", "Unknown probe.", 404)
    schema = cache.get(f"task-probe:{probe_id}")
    if schema is None:
        return JsonResponse({"probe_id": probe_id, "status": "pending"})
    return JsonResponse({"probe_id": probe_id, "status": "done", "worker_schema": schema})


def _operator_only() -> JsonResponse:
    return error_response("OPERATOR_ONLY", _("Only operators may use the diagnostics."), 403)
