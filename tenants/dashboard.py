"""Platform dashboard: how many tenants are active or suspended."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from askpro.dashboard import Kpi, Panel, cached
from tenants.models import Tenant


def tenant_counts() -> dict[str, int]:
    return Tenant.objects.filter(is_template=False).exclude(schema_name="public").aggregate(
        active=Count("id", filter=Q(status=Tenant.Status.ACTIVE)),
        suspended=Count("id", filter=Q(status=Tenant.Status.SUSPENDED)),
    )


def platform_panels(request: HttpRequest) -> list[Panel]:
    counts = cached("tenants:counts", tenant_counts)
    changelist = reverse("admin:tenants_tenant_changelist")
    return [Panel("tenants", "kpis", _("Tenants"), [
        Kpi("tenants-active", _("Active tenants"), str(counts["active"]), href=changelist + "?status__exact=active"),
        Kpi("tenants-suspended", _("Suspended tenants"), str(counts["suspended"]),
            tone="warning" if counts["suspended"] else "", href=changelist + "?status__exact=suspended"),
    ], order=10)]
