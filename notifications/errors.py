from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from askpro.errors import Conflict, NotFound


class DeliveryNotFound(NotFound):
    code = "NOTIFICATION_NOT_FOUND"
    default_message = _("This notification does not exist.")


class DeliveryNotRetryable(Conflict):
    code = "NOTIFICATION_NOT_RETRYABLE"
    default_message = _("Only failed, skipped or cancelled notifications can be sent again.")


class DeliveryNotCancellable(Conflict):
    code = "NOTIFICATION_NOT_CANCELLABLE"
    default_message = _("Only pending notifications can be cancelled.")


class TemplateNotFound(NotFound):
    code = "NOTIFICATION_TEMPLATE_NOT_FOUND"
    default_message = _("This notification template does not exist.")
