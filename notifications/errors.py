from __future__ import annotations

from enum import StrEnum, unique

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, NotFound


@unique
class NotificationErrorCode(StrEnum):
    """Every code the notifications app answers with, declared once; exception classes refer to these."""

    NOTIFICATION_NOT_FOUND = "NOTIFICATION_NOT_FOUND"
    NOTIFICATION_NOT_RETRYABLE = "NOTIFICATION_NOT_RETRYABLE"
    NOTIFICATION_NOT_CANCELLABLE = "NOTIFICATION_NOT_CANCELLABLE"


class DeliveryNotFound(NotFound):
    code = NotificationErrorCode.NOTIFICATION_NOT_FOUND
    default_message = _("This notification does not exist.")


class DeliveryNotRetryable(Conflict):
    code = NotificationErrorCode.NOTIFICATION_NOT_RETRYABLE
    default_message = _("Only failed, skipped or cancelled notifications can be sent again.")


class DeliveryNotCancellable(Conflict):
    code = NotificationErrorCode.NOTIFICATION_NOT_CANCELLABLE
    default_message = _("Only pending notifications can be cancelled.")
