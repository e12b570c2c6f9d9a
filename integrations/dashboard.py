"""Platform dashboard: the webhook inbox per provider (pending, failed, oldest waiting) and the
circuit breakers of the outbound integrations."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Min, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from askpro.dashboard import HealthItem, Panel, cached
from integrations.http import KNOWN_PROVIDERS, breaker_for
from integrations.models import WebhookEvent


def inbox_by_provider() -> list[dict[str, Any]]:
    rows = WebhookEvent.objects.values("provider").annotate(
        pending=Count("id", filter=Q(status__in=WebhookEvent.PENDING_STATUSES)),
        failed=Count("id", filter=Q(status=WebhookEvent.Status.FAILED)),
        oldest=Min("received_at", filter=Q(status__in=WebhookEvent.PENDING_STATUSES)),
    )
    known: dict[str, dict[str, Any]] = {row["provider"]: dict(row) for row in rows}
    now = timezone.now()
    return [{
        "provider": provider, "label": str(label),
        "pending": known.get(provider, {}).get("pending", 0), "failed": known.get(provider, {}).get("failed", 0),
        "oldest_seconds": int((now - known[provider]["oldest"]).total_seconds())
        if known.get(provider, {}).get("oldest") else None,
    } for provider, label in WebhookEvent.Provider.choices]


def breaker_states() -> dict[str, str]:
    states = {}
    for provider in KNOWN_PROVIDERS:
        try:
            states[provider] = breaker_for(provider).snapshot()["breaker"]
        except Exception:  # Redis down: the breaker state is unknown, not an error page
            states[provider] = "unknown"
    return states


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return _("%(n)s s") % {"n": seconds}
    if seconds < 7200:
        return _("%(n)s min") % {"n": seconds // 60}
    return _("%(n)s h") % {"n": seconds // 3600}


def platform_panels(request: HttpRequest) -> list[Panel]:
    inbox = cached("integrations:inbox", inbox_by_provider)
    changelist = reverse("admin:integrations_webhookevent_changelist")
    breakers = breaker_states()
    labels = {"closed": _("closed (normal)"), "open": _("open (calls paused)"),
              "half_open": _("half open (probing)"), "unknown": _("unknown")}
    return [
        Panel("webhook-inbox", "table", _("Webhook inbox"), {
            "headers": [_("Provider"), _("Pending"), _("Failed"), _("Oldest waiting")],
            "rows": [[row["label"], str(row["pending"]), str(row["failed"]), _age(row["oldest_seconds"])]
                     for row in inbox],
            "empty": _("No webhooks yet."),
            "testids": ["inbox-" + row["provider"] for row in inbox],
        }, order=40, width="half", href=changelist, link_text=_("Open the inbox")),
        Panel("breakers", "health", _("Integration circuit breakers"), [
            HealthItem(provider.capitalize() if provider != "calcom" else "Cal.com", str(labels[state]),
                       "ok" if state == "closed" else "unknown" if state == "unknown" else "danger")
            for provider, state in breakers.items()
        ], order=45, width="half"),
    ]
