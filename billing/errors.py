"""Refused billing actions, each with a stable machine-readable code."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, DomainError, NotFound, ValidationFailed


class InvalidAmount(ValidationFailed):
    code = "INVALID_AMOUNT"
    default_message = _("The amount is not allowed.")


class PeriodNotFinished(ValidationFailed):
    code = "PERIOD_NOT_FINISHED"
    default_message = _("A month can only be invoiced after it has ended.")


class BuyerAddressIncomplete(ValidationFailed):
    """§14 Abs. 4 Nr. 1 UStG: above the small-amount limit the buyer's full name and address are required."""

    code = "BUYER_ADDRESS_INCOMPLETE"
    default_message = _("The invoice is above 250 € and the buyer's name and address are incomplete.")


class InvalidPeriod(ValidationFailed):
    code = "INVALID_PERIOD"
    default_message = _("Use a period in the form YYYY-MM.")


class AccountNotFound(NotFound):
    code = "BILLING_ACCOUNT_NOT_FOUND"
    default_message = _("This tenant has no billing account.")


class UsageConflict(Conflict):
    code = "USAGE_CONFLICT"
    default_message = _("This call was already charged to another tenant.")


class PaymentsNotConfigured(DomainError):
    code = "PAYMENTS_NOT_CONFIGURED"
    http_status = 503
    default_message = _("Online payments are not configured. Please contact support to top up.")


class PaymentProviderError(DomainError):
    code = "PAYMENT_PROVIDER_ERROR"
    http_status = 502
    default_message = _("The payment provider could not be reached. Please try again.")


class PaymentDeclined(DomainError):
    code = "PAYMENT_DECLINED"
    http_status = 402
    default_message = _("The payment was declined.")


class InvalidInvoiceState(Conflict):
    code = "INVALID_INVOICE_STATE"
    default_message = _("The invoice cannot change to this status.")
