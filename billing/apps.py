from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from askpro.health import register_integration_check
        from billing.health import stripe_check

        register_integration_check("stripe", stripe_check)
