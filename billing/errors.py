"""Refused billing actions, each with a stable machine-readable code."""

from __future__ import annotations

from enum import StrEnum, unique

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, DomainError, NotFound, ValidationFailed


@unique
class BillingErrorCode(StrEnum):
    """Every code the billing app answers with, declared once; exception classes refer to these."""

    INVALID_AMOUNT = "INVALID_AMOUNT"
    PERIOD_NOT_FINISHED = "PERIOD_NOT_FINISHED"
    BUYER_ADDRESS_INCOMPLETE = "BUYER_ADDRESS_INCOMPLETE"
    INVALID_PERIOD = "INVALID_PERIOD"
    BILLING_ACCOUNT_NOT_FOUND = "BILLING_ACCOUNT_NOT_FOUND"
    USAGE_CONFLICT = "USAGE_CONFLICT"
    PAYMENTS_NOT_CONFIGURED = "PAYMENTS_NOT_CONFIGURED"
    PAYMENT_PROVIDER_ERROR = "PAYMENT_PROVIDER_ERROR"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    INVALID_INVOICE_STATE = "INVALID_INVOICE_STATE"


class InvalidAmount(ValidationFailed):
    code = BillingErrorCode.INVALID_AMOUNT
    default_message = _("The amount is not allowed.")


class PeriodNotFinished(ValidationFailed):
    code = BillingErrorCode.PERIOD_NOT_FINISHED
    default_message = _("A month can only be invoiced after it has ended.")


class BuyerAddressIncomplete(ValidationFailed):
    """§14 Abs. 4 Nr. 1 UStG: above the small-amount limit the buyer's full name and address are required."""

    code = BillingErrorCode.BUYER_ADDRESS_INCOMPLETE
    default_message = _("The invoice is above 250 € and the buyer's name and address are incomplete.")


class InvalidPeriod(ValidationFailed):
    code = BillingErrorCode.INVALID_PERIOD
    default_message = _("Use a period in the form YYYY-MM.")


class AccountNotFound(NotFound):
    code = BillingErrorCode.BILLING_ACCOUNT_NOT_FOUND
    default_message = _("This tenant has no billing account.")


class UsageConflict(Conflict):
    code = BillingErrorCode.USAGE_CONFLICT
    default_message = _("This call was already charged to another tenant.")


class PaymentsNotConfigured(DomainError):
    code = BillingErrorCode.PAYMENTS_NOT_CONFIGURED
    http_status = 503
    default_message = _("Online payments are not configured. Please contact support to top up.")


class PaymentProviderError(DomainError):
    code = BillingErrorCode.PAYMENT_PROVIDER_ERROR
    http_status = 502
    default_message = _("The payment provider could not be reached. Please try again.")


class PaymentDeclined(DomainError):
    code = BillingErrorCode.PAYMENT_DECLINED
    http_status = 402
    default_message = _("The payment was declined.")


class InvalidInvoiceState(Conflict):
    code = BillingErrorCode.INVALID_INVOICE_STATE
    default_message = _("The invoice cannot change to this status.")
