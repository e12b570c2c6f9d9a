"""Admin dashboards: key figures on the first admin page, contributed by each app.

An app contributes in ``<app>/dashboard.py``:

- ``platform_cards(request)`` / ``tenant_cards(request)``: a list of :class:`Card` (small tiles);
- ``platform_panels(request)`` / ``tenant_panels(request)``: a list of :class:`Panel` (KPI rows,
  charts, tables, health lists, the day's timeline), placed by ``order``.

Every number is computed by the app's own queries and arrives formatted (``askpro.display``); the
template only lays panels out. :func:`cached` keeps a panel's figures briefly per tenant schema
(the cache key function of django-tenants adds the schema), so a busy admin page does not
recompute them on every reload.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from askpro.discovery import app_modules
from askpro.tenancy import in_public_schema

logger = logging.getLogger(__name__)

T = TypeVar("T")
CACHE_SECONDS = 30


@dataclass(frozen=True)
class Card:
    title: str
    value: str
    footer: str = ""
    href: str = ""
    icon: str = ""


@dataclass(frozen=True)
class Kpi:
    """One figure with its comparison to the previous period (``previous`` already formatted)."""

    key: str  # stable id (``data-testid="kpi-<key>"``)
    title: str
    value: str
    previous: str = ""  # e.g. "Vorwoche: 41"
    trend: str = ""  # "up", "down" or ""
    footer: str = ""
    href: str = ""
    tone: str = ""  # "", "warning", "danger"


@dataclass(frozen=True)
class HealthItem:
    label: str
    value: str
    status: str = "ok"  # "ok", "warning", "danger", "unknown"
    href: str = ""


@dataclass(frozen=True)
class Panel:
    """A block of the dashboard. ``kind`` picks the layout: ``kpis`` (list of Kpi), ``chart``
    (``{"type", "data", "options"}`` for unfold's Chart.js), ``table`` (``{"headers", "rows",
    "empty"}``), ``health`` (list of HealthItem), ``timeline`` (``{"rows", "next_free", "empty"}``)."""

    key: str
    kind: str
    title: str
    data: Any
    order: int = 100
    width: str = "full"  # "full", "half", "third"
    description: str = ""
    href: str = ""
    link_text: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def chart_data(self) -> str:
        return json.dumps(self.data.get("data", {})) if self.kind == "chart" else ""

    @property
    def chart_options(self) -> str:
        return json.dumps(self.data.get("options")) if self.kind == "chart" and self.data.get("options") else ""


def cached(key: str, compute: Callable[[], T], *, seconds: int = CACHE_SECONDS) -> T:
    """``compute()`` kept ``seconds`` per tenant schema; a cache outage only costs the recompute."""
    seconds = min(seconds, settings.DASHBOARD_CACHE_SECONDS)
    if seconds <= 0:
        return compute()
    full_key = f"dashboard:{key}"
    try:
        hit = cache.get(full_key)
    except Exception:  # Redis down: the dashboard still renders
        logger.warning("dashboard cache unavailable", exc_info=True)
        return compute()
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    value = compute()
    try:
        cache.set(full_key, value, seconds)
    except Exception:
        logger.warning("dashboard cache unavailable", exc_info=True)
    return value


def may_see_money(request: HttpRequest) -> bool:
    """Revenue, balances and fees are for roles that may see billing (owner, manager)."""
    user = request.user
    return bool(user.is_superuser or user.has_perm("billing.view_billingaccount"))


def trend(current: float, previous: float) -> str:
    if current > previous:
        return "up"
    if current < previous:
        return "down"
    return ""


def merge_health(panels: list[Panel]) -> list[Panel]:
    """Health panels of several apps with the same key become one list (first one's title wins)."""
    merged: list[Panel] = []
    seen: dict[str, int] = {}
    for panel in panels:
        if panel.kind == "health" and panel.key in seen:
            first = merged[seen[panel.key]]
            merged[seen[panel.key]] = Panel(first.key, first.kind, first.title, [*first.data, *panel.data],
                                            first.order, first.width, first.description, first.href, first.link_text)
            continue
        seen[panel.key] = len(merged)
        merged.append(panel)
    return merged


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    prefix = "platform" if in_public_schema() else "tenant"
    cards: list[Card] = []
    panels: list[Panel] = []
    for module in app_modules("dashboard"):
        for suffix, target in (("cards", cards), ("panels", panels)):
            provider = getattr(module, f"{prefix}_{suffix}", None)
            if provider is None:
                continue
            try:
                target.extend(provider(request))
            except Exception:  # one broken widget must not take the admin down
                logger.exception("dashboard %s of %s failed", suffix, module.__name__)
    context["askpro_cards"] = cards
    context["askpro_panels"] = sorted(merge_health(panels), key=lambda panel: (panel.order, panel.key))
    context["askpro_dashboard"] = prefix
    return context
