from functools import partial

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from askpro.health import register_integration_check
        from integrations.http import KNOWN_PROVIDERS, breaker_health
        from integrations.queries import inbox_health

        for provider in KNOWN_PROVIDERS:
            register_integration_check(provider, partial(breaker_health, provider))
        register_integration_check("webhook_inbox", inbox_health)
