"""Errors of the Cal.com sync (the client's own errors live in ``integrations.calcom.client``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, ValidationFailed
from integrations.errors import IntegrationErrorCode


class CalcomNotConnected(Conflict):
    code = IntegrationErrorCode.CALCOM_NOT_CONNECTED
    default_message = _("Cal.com is not connected for this business (no active connection with an API key).")


class InvalidStrategy(ValidationFailed):
    code = IntegrationErrorCode.INVALID_STRATEGY
    default_message = _("Unknown drift strategy: use platform_wins or calcom_wins.")
