"""Find optional per-app modules (``<app>/demo.py``, ``<app>/listeners.py``, ...) by convention."""

from __future__ import annotations

import importlib
from types import ModuleType

from django.conf import settings


def app_modules(module_name: str) -> list[ModuleType]:
    """Import ``<app>.<module_name>`` for every AskPro domain app that has one, in app order."""
    found = []
    for app_name in settings.ASKPRO_DOMAIN_APPS:
        dotted = f"{app_name}.{module_name}"
        try:
            found.append(importlib.import_module(dotted))
        except ModuleNotFoundError as exc:
            if exc.name != dotted:
                raise
    return found
