from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from askpro.dashboard import Card
from tenants.models import Tenant


def platform_cards(request: HttpRequest) -> list[Card]:
    tenants = Tenant.objects.filter(is_template=False).exclude(schema_name="public")
    active = tenants.filter(status=Tenant.Status.ACTIVE).count()
    suspended = tenants.filter(status=Tenant.Status.SUSPENDED).count()
    return [
        Card(
            title=_("Tenants"),
            value=str(active),
            footer=_("%(count)s suspended") % {"count": suspended},
            href=reverse("admin:tenants_tenant_changelist"),
            icon="storefront",
        )
    ]
