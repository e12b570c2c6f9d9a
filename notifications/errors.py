from __future__ import annotations

from enum import StrEnum, unique

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, NotFound, ValidationFailed


@unique
class NotificationErrorCode(StrEnum):
    """Every code the notifications app answers with, declared once; exception classes refer to these."""

    NOTIFICATION_NOT_FOUND = "NOTIFICATION_NOT_FOUND"
    NOTIFICATION_NOT_RETRYABLE = "NOTIFICATION_NOT_RETRYABLE"
    NOTIFICATION_NOT_CANCELLABLE = "NOTIFICATION_NOT_CANCELLABLE"
    NO_CONSENT = "NO_CONSENT"
    OPTED_OUT = "OPTED_OUT"
    NO_ADDRESS = "NO_ADDRESS"
    MESSAGE_INVALID = "MESSAGE_INVALID"
    CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"
    NOTIFICATION_TEMPLATE_NOT_FOUND = "NOTIFICATION_TEMPLATE_NOT_FOUND"


class DeliveryNotFound(NotFound):
    code = NotificationErrorCode.NOTIFICATION_NOT_FOUND
    default_message = _("This notification does not exist.")


class DeliveryNotRetryable(Conflict):
    code = NotificationErrorCode.NOTIFICATION_NOT_RETRYABLE
    default_message = _("Only failed, skipped or cancelled notifications can be sent again.")


class DeliveryNotCancellable(Conflict):
    code = NotificationErrorCode.NOTIFICATION_NOT_CANCELLABLE
    default_message = _("Only pending notifications can be cancelled.")


class MessageNoConsent(Conflict):
    code = NotificationErrorCode.NO_CONSENT
    default_message = _("The customer has not agreed to receive messages from us.")


class MessageOptedOut(Conflict):
    code = NotificationErrorCode.OPTED_OUT
    default_message = _("The customer has opted out of this channel.")


class MessageNoAddress(ValidationFailed):
    code = NotificationErrorCode.NO_ADDRESS
    default_message = _("The customer has no address for this channel.")


class MessageInvalid(ValidationFailed):
    code = NotificationErrorCode.MESSAGE_INVALID
    default_message = _("The message needs a text and a channel (SMS or email).")


class RecipientNotFound(NotFound):
    code = NotificationErrorCode.CUSTOMER_NOT_FOUND
    default_message = _("This customer does not exist.")
class TemplateNotFound(NotFound):
    code = NotificationErrorCode.NOTIFICATION_TEMPLATE_NOT_FOUND
    default_message = _("This notification template does not exist.")
