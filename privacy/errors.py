"""Refusals of the data-protection domain, each with a stable machine-readable code."""

from __future__ import annotations

from enum import StrEnum, unique

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, NotFound, ValidationFailed


@unique
class PrivacyErrorCode(StrEnum):
    """Every code the privacy app answers with, declared once; exception classes refer to these."""

    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    REASON_REQUIRED = "REASON_REQUIRED"
    ALREADY_ERASED = "ALREADY_ERASED"
    DELETION_REQUEST_CLOSED = "DELETION_REQUEST_CLOSED"


class CustomerNotFound(NotFound):
    code = PrivacyErrorCode.CUSTOMER_NOT_FOUND
    default_message = _("No customer with this number or phone number.")


class ReasonRequired(ValidationFailed):
    code = PrivacyErrorCode.REASON_REQUIRED
    default_message = _("Please give a reason; it is kept in the data protection log.")


class AlreadyErased(Conflict):
    code = PrivacyErrorCode.ALREADY_ERASED
    default_message = _("This customer's data has already been erased.")


class RequestClosed(Conflict):
    code = PrivacyErrorCode.DELETION_REQUEST_CLOSED
    default_message = _("This deletion request has already been handled.")
