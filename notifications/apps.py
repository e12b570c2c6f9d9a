# Models of this app are registered with askpro.admin_sites (platform_admin_site / tenant_admin_site).
from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _health() -> dict[str, Any]:
    from django.conf import settings

    live = settings.NOTIFICATIONS_BACKEND == "live"
    twilio = bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)
    return {
        "status": "ok" if not live or twilio else "degraded",
        "backend": "live" if live else "outbox",
        "twilio_platform_account": twilio,
        "telegram_platform_bot": bool(settings.TELEGRAM_BOT_TOKEN),
    }


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from askpro.health import register_integration_check

        register_integration_check("notifications", _health)
