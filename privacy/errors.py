"""Refusals of the data-protection domain, each with a stable machine-readable code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, NotFound, ValidationFailed


class CustomerNotFound(NotFound):
    code = "CUSTOMER_NOT_FOUND"
    default_message = _("No customer with this number or phone number.")


class ReasonRequired(ValidationFailed):
    code = "REASON_REQUIRED"
    default_message = _("Please give a reason; it is kept in the data protection log.")


class AlreadyErased(Conflict):
    code = "ALREADY_ERASED"
    default_message = _("This customer's data has already been erased.")


class RequestClosed(Conflict):
    code = "DELETION_REQUEST_CLOSED"
    default_message = _("This deletion request has already been handled.")
