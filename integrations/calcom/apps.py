from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CalcomConfig(AppConfig):
    """Tenant-side Cal.com state (mappings, sync and drift records); lives in each tenant schema."""

    name = "integrations.calcom"
    label = "calcom"
    verbose_name = _("Cal.com")
