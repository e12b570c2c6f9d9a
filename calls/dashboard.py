"""Calls on the tenant dashboard: today's calls and how many ended in a booking (against
yesterday), calls by outcome over 30 days, and when Retell last reported."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Max, Q
from django.db.models.functions import Greatest
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.dashboard import Periods, percent, rate, tenant_zone
from askpro.dashboard import HealthItem, Kpi, Panel, cached, trend
from askpro.display import local_datetime
from calls.models import Call

OUTCOMES = ("booked", "answered", "unsuccessful", "voicemail", "open")


def call_figures() -> dict[str, Any]:
    """Calls of today and yesterday (local days) with how many booked an appointment."""
    periods = Periods(timezone.now(), tenant_zone())
    today, yesterday = periods.day(), periods.day(-1)

    def started(bounds: Any) -> Q:
        return Q(started_at__gte=bounds[0], started_at__lt=bounds[1])

    return Call.objects.filter(started_at__gte=yesterday[0], started_at__lt=today[1]).aggregate(
        today=Count("id", filter=started(today)),
        today_booked=Count("id", filter=started(today) & Q(appointment_made=True)),
        yesterday=Count("id", filter=started(yesterday)),
        yesterday_booked=Count("id", filter=started(yesterday) & Q(appointment_made=True)),
    )


def outcomes(days: int = 30) -> dict[str, int]:
    """Calls of the last ``days`` days by outcome: booked an appointment, answered without one,
    unsuccessful, voicemail, not yet analysed."""
    since = timezone.now() - timedelta(days=days)
    return Call.objects.filter(started_at__gte=since).aggregate(
        booked=Count("id", filter=Q(appointment_made=True)),
        voicemail=Count("id", filter=Q(appointment_made=False, in_voicemail=True)),
        answered=Count("id", filter=Q(appointment_made=False, call_successful=True) & ~Q(in_voicemail=True)),
        unsuccessful=Count("id", filter=Q(appointment_made=False, call_successful=False) & ~Q(in_voicemail=True)),
        open=Count("id", filter=Q(appointment_made=False, call_successful__isnull=True) & ~Q(in_voicemail=True)),
    )


def last_event_at() -> Any:
    return Call.objects.aggregate(
        last=Max(Greatest("started_event_at", "ended_event_at", "analyzed_event_at"))
    )["last"]


def tenant_panels(request: HttpRequest) -> list[Panel]:
    f = cached("calls:figures", call_figures)
    conversion = rate(f["today_booked"], f["today"])
    changelist = reverse("admin:calls_call_changelist")
    by_outcome = cached("calls:outcomes", outcomes)
    labels = {"booked": _("Appointment booked"), "answered": _("Answered, no appointment"),
              "unsuccessful": _("Unsuccessful"), "voicemail": _("Voicemail"), "open": _("Not analysed yet")}
    last = cached("calls:last-event", last_event_at)
    stale = last is None or timezone.now() - last > timedelta(days=2)
    return [
        Panel("call-kpis", "kpis", _("Phone agent"), [
            Kpi("calls-today", _("Calls today"), str(f["today"]), f"{_('Yesterday')}: {f['yesterday']}",
                trend(f["today"], f["yesterday"]), href=changelist),
            Kpi("calls-booked-today", _("Calls with a booking today"), str(f["today_booked"]),
                f"{_('Conversion')}: {percent(conversion)}", trend(f["today_booked"], f["yesterday_booked"]),
                footer=f"{_('Yesterday')}: {f['yesterday_booked']} / {f['yesterday']}",
                href=changelist + "?appointment_made__exact=1"),
        ], order=21, width="half"),
        Panel("calls-by-outcome", "chart", _("Calls by outcome (30 days)"), {
            "type": "doughnut",
            "data": {"labels": [str(labels[k]) for k in OUTCOMES],
                     "datasets": [{"data": [by_outcome[k] for k in OUTCOMES],
                                   "backgroundColor": ["#16a34a", "#2563eb", "#dc2626", "#f59e0b", "#9ca3af"]}]},
            "options": {"responsive": True, "maintainAspectRatio": False,
                        "plugins": {"legend": {"display": True, "position": "right"}}},
        }, order=50, width="third"),
        Panel("integration-health", "health", _("Integrations"), [
            HealthItem(_("Last Retell event"), local_datetime(last, tenant_zone()) if last else _("never"),
                       "warning" if stale else "ok", changelist),
        ], order=31, width="third"),
    ]
