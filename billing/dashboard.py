"""Money on the dashboards. Tenant (roles that may see billing only): the prepaid balance with
the top-up link and the low-balance warning. Platform: calls and minutes today, revenue, provider
costs and margin of this month, the last billing run, tenants with a low or negative balance."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from askpro.dashboard import Kpi, Panel, cached, may_see_money
from askpro.display import euros, local_datetime
from askpro.tenancy import current_tenant
from billing.models import BillingAccount, BillingRun, PlatformCost, UsageRecord


def tenant_balance() -> dict[str, Any] | None:
    tenant = current_tenant()
    if tenant is None:
        return None
    row = BillingAccount.objects.filter(tenant=tenant).values(
        "balance_cents", "low_balance_threshold_cents", "credit_limit_cents").first()
    return dict(row) if row is not None else None


def tenant_panels(request: HttpRequest) -> list[Panel]:
    if not may_see_money(request):
        return []
    account = cached("billing:balance", tenant_balance, seconds=10)
    if account is None:
        return []
    balance = account["balance_cents"]
    low = balance < account["low_balance_threshold_cents"]
    footer = (_("Below the warning threshold of %(limit)s: top up so calls keep being answered.")
              % {"limit": euros(account["low_balance_threshold_cents"])}) if low else _("Top up balance")
    return [Panel("balance", "kpis", _("Prepaid balance"), [
        Kpi("balance", _("Prepaid balance"), euros(balance),
            _("Warning below %(limit)s") % {"limit": euros(account["low_balance_threshold_cents"])},
            footer=str(footer), href=reverse("admin:billing_billingaccount_topup"),
            tone="danger" if balance < 0 else "warning" if low else ""),
    ], order=30, width="third")]


# --- platform -------------------------------------------------------------------------------


def platform_figures(now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(tz)
    day_start = datetime.combine(local.date(), time(), tzinfo=tz)
    period = local.date().replace(day=1)
    today = UsageRecord.objects.filter(ended_at__gte=day_start).aggregate(
        calls=Count("id"), seconds=Sum("duration_seconds"))
    month = UsageRecord.objects.filter(period=period).aggregate(revenue=Sum("net_cents"))
    costs = PlatformCost.objects.filter(period=period).aggregate(costs=Sum("cost_cents"))
    revenue, cost = month["revenue"] or 0, costs["costs"] or 0
    last_run = BillingRun.objects.order_by("-period").values("period", "status", "finished_at", "invoices_created").first()
    low = list(
        BillingAccount.objects.filter(balance_cents__lt=F("low_balance_threshold_cents"))
        .select_related("tenant").order_by("balance_cents")
        .values("tenant__name", "tenant_id", "balance_cents", "low_balance_threshold_cents")[:10]
    )
    return {"calls_today": today["calls"], "minutes_today": (today["seconds"] or 0) // 60,
            "revenue": revenue, "costs": cost, "margin": revenue - cost, "last_run": last_run, "low": low}


def platform_panels(request: HttpRequest) -> list[Panel]:
    f = cached("billing:platform", platform_figures)
    run = f["last_run"]
    run_text = _("none yet") if run is None else (
        f"{run['period']:%m/%Y} · {BillingRun.Status(run['status']).label}"
        + (f" · {local_datetime(run['finished_at'])}" if run["finished_at"] else ""))
    return [
        Panel("platform-money", "kpis", _("Calls and money"), [
            Kpi("platform-calls-today", _("Calls today"), str(f["calls_today"]),
                _("%(n)s minutes") % {"n": f["minutes_today"]}, href=reverse("admin:billing_usagerecord_changelist")),
            Kpi("platform-revenue", _("Revenue this month (net)"), euros(f["revenue"]),
                _("Provider costs: %(c)s") % {"c": euros(f["costs"])}),
            Kpi("platform-margin", _("Margin this month"), euros(f["margin"]),
                tone="danger" if f["margin"] < 0 else "", href=reverse("admin:billing_monthlycostreport_changelist")),
            Kpi("billing-run", _("Last billing run"), run_text, href=reverse("admin:billing_billingrun_changelist")),
        ], order=20),
        Panel("low-balance", "table", _("Tenants with a low or negative balance"), {
            "headers": [_("Tenant"), _("Balance"), _("Warning below")],
            "rows": [[row["tenant__name"], euros(row["balance_cents"]), euros(row["low_balance_threshold_cents"])]
                     for row in f["low"]],
            "empty": _("Every tenant is above its warning threshold."),
        }, order=50, width="half", href=reverse("admin:billing_billingaccount_changelist"),
            link_text=_("All billing accounts")),
    ]
