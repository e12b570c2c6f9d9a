"""Admin dashboards: key figures on the first admin page, contributed by each app.

An app adds cards in ``<app>/dashboard.py`` with ``platform_cards(request)`` and/or
``tenant_cards(request)``, each returning a list of :class:`Card`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from askpro.discovery import app_modules
from askpro.tenancy import in_public_schema

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Card:
    title: str
    value: str
    footer: str = ""
    href: str = ""
    icon: str = ""


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    function_name = "platform_cards" if in_public_schema() else "tenant_cards"
    cards: list[Card] = []
    for module in app_modules("dashboard"):
        provider = getattr(module, function_name, None)
        if provider is None:
            continue
        try:
            cards.extend(provider(request))
        except Exception:  # one broken card must not take the admin down
            logger.exception("dashboard cards of %s failed", module.__name__)
    context["askpro_cards"] = cards
    return context
