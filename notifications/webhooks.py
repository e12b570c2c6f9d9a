"""Twilio webhooks: delivery status callbacks and inbound replies (STOP/START).

Tenant host ``/webhooks/twilio/status`` and ``/webhooks/twilio/inbound``: signed with the
tenant's auth token (or the platform's when the tenant has none). Public host
``/webhooks/twilio/inbound``: for the platform's shared sender numbers, signed with the platform
token; the reply is applied in every tenant that sends from the number it was addressed to.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from askpro.errors import error_response
from askpro.tenancy import current_schema, for_each_tenant
from notifications import queries, services
from notifications.twilio_signature import is_valid_signature

logger = logging.getLogger("askpro.security")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _params(request: HttpRequest) -> list[tuple[str, str]]:
    return [(key, value) for key, values in request.POST.lists() for value in values]


def _refuse_unsigned(request: HttpRequest, auth_token: str) -> HttpResponse | None:
    if request.method != "POST":
        return error_response("METHOD_NOT_ALLOWED", _("Use POST."), 405)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not is_valid_signature(auth_token, request.build_absolute_uri(), _params(request), signature):
        logger.warning("Twilio webhook with an invalid signature on %s", request.get_host())
        return error_response("INVALID_SIGNATURE", _("The request signature is invalid."), 403)
    return None


@csrf_exempt
def twilio_status(request: HttpRequest) -> HttpResponse:
    refused = _refuse_unsigned(request, queries.credentials().twilio_auth_token)
    if refused:
        return refused
    sid = request.POST.get("MessageSid", "")
    status = request.POST.get("MessageStatus", "")
    if not sid or not status:
        return error_response("MISSING_FIELDS", _("MessageSid and MessageStatus are required."), 400)
    delivery = services.record_twilio_status(sid, status, request.POST.get("ErrorCode", ""))
    if delivery is None:
        logger.info("Twilio status for unknown message %s in %s", sid, current_schema())
    return HttpResponse(status=204)


@csrf_exempt
def twilio_inbound_tenant(request: HttpRequest) -> HttpResponse:
    refused = _refuse_unsigned(request, queries.credentials().twilio_auth_token)
    if refused:
        return refused
    services.record_inbound_message(request.POST.get("From", ""), request.POST.get("Body", ""))
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
def twilio_inbound_platform(request: HttpRequest) -> HttpResponse:
    refused = _refuse_unsigned(request, settings.TWILIO_AUTH_TOKEN)
    if refused:
        return refused
    sender, to, body = request.POST.get("From", ""), request.POST.get("To", ""), request.POST.get("Body", "")
    to_number = to.removeprefix("whatsapp:")

    def apply(tenant: object) -> None:
        creds = queries.credentials()
        own_account = creds.twilio_account_sid != settings.TWILIO_ACCOUNT_SID
        numbers = {creds.twilio_from_number, creds.twilio_whatsapp_from.removeprefix("whatsapp:")}
        if not own_account and to_number in numbers:
            services.record_inbound_message(sender, body)

    for_each_tenant(apply)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
