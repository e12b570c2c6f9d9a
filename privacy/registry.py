"""The explicit list of apps that hold customers' personal data (see privacy.contract).

Order matters for erasure: the customer row (appointments) is anonymised last, after every other
app found its rows through the customer's numbers and address.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PROVIDERS: dict[str, str] = {
    "inbox": "integrations.personal_data",
    "calcom": "integrations.calcom.personal_data",
    "notifications": "notifications.personal_data",
    "calls": "calls.personal_data",
    "appointments": "appointments.personal_data",
}


def providers() -> list[tuple[str, ModuleType]]:
    return [(name, importlib.import_module(path)) for name, path in PROVIDERS.items()]


def provider(name: str) -> ModuleType:
    return importlib.import_module(PROVIDERS[name])
