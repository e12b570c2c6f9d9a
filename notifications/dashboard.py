"""Notifications on the tenant dashboard: deliveries of 30 days by channel and outcome, and
failed deliveries of the last 7 days as an integration health item."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from askpro.dashboard import HealthItem, Panel, cached
from notifications.events import Channel
from notifications.models import NotificationDelivery

Status = NotificationDelivery.Status
OUTCOME_OF: dict[str, str] = {Status.SENT: "sent", Status.DELIVERED: "sent", Status.FAILED: "failed",
              Status.PENDING: "waiting", Status.SENDING: "waiting"}


def delivery_by_channel(days: int = 30) -> dict[str, dict[str, int]]:
    """Per channel: sent (incl. delivered), failed, waiting, over the last ``days`` days."""
    since = timezone.now() - timedelta(days=days)
    result: dict[str, dict[str, int]] = {
        value: {"sent": 0, "failed": 0, "waiting": 0} for value, _label in Channel.CHOICES}
    rows = NotificationDelivery.objects.filter(created_at__gte=since).values("channel", "status").annotate(n=Count("id"))
    for row in rows:
        outcome = OUTCOME_OF.get(row["status"])
        if outcome and row["channel"] in result:
            result[row["channel"]][outcome] += row["n"]
    return result


def failed_recently(days: int = 7) -> int:
    return NotificationDelivery.objects.filter(
        status=Status.FAILED, created_at__gte=timezone.now() - timedelta(days=days)).count()


def tenant_panels(request: HttpRequest) -> list[Panel]:
    by_channel = cached("notifications:by-channel", delivery_by_channel)
    failed = cached("notifications:failed", failed_recently)
    labels = dict(Channel.CHOICES)
    channels = list(by_channel)
    colours = {"sent": "#16a34a", "failed": "#dc2626", "waiting": "#9ca3af"}
    names = {"sent": _("Sent"), "failed": _("Failed"), "waiting": _("Waiting")}
    data: dict[str, Any] = {
        "labels": [str(labels[c]) for c in channels],
        "datasets": [{"label": str(names[o]), "data": [by_channel[c][o] for c in channels],
                      "backgroundColor": colours[o]} for o in ("sent", "failed", "waiting")],
    }
    changelist = reverse("admin:notifications_notificationdelivery_changelist")
    return [
        Panel("notifications-by-channel", "chart", _("Notifications by channel (30 days)"), {
            "type": "bar", "data": data,
            "options": {"responsive": True, "maintainAspectRatio": False,
                        "plugins": {"legend": {"display": True, "position": "bottom"}},
                        "scales": {"x": {"stacked": True, "grid": {"display": False}},
                                   "y": {"stacked": True, "beginAtZero": True}}},
        }, order=50, width="third"),
        Panel("integration-health", "health", _("Integrations"), [
            HealthItem(_("Failed notifications (7 days)"), str(failed), "danger" if failed else "ok",
                       changelist + "?status__exact=failed"),
        ], order=31, width="third"),
    ]
