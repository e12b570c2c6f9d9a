"""The contract between the privacy app and the apps that own personal data.

Each app that stores personal data of customers offers a public module ``<app>/personal_data.py``
with:

- ``export(customer_id) -> dict``: everything it holds about the customer, JSON-serialisable;
- ``erase(identity) -> dict[str, int]``: anonymise it in the current tenant schema (including
  django-simple-history tables), keep rows needed for statistics or by law; returns counts;
- ``apply_retention(rules, now) -> dict[str, int]`` (optional): prune what is older than the
  tenant's retention rules; idempotent (a second run returns zeros).

``privacy.registry`` lists the modules explicitly; nothing is discovered by name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Identity:
    """Who is erased: taken before anything is changed, so every provider can find its rows
    (calls by the numbers, deliveries by the address) even after the customer row is blank."""

    customer_id: int
    name: str
    phones: tuple[str, ...]
    email: str
    appointment_ids: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class RetentionRules:
    """The tenant's retention policy as plain values (0 = keep)."""

    transcript_days: int
    recording_days: int
    notification_days: int
    inactive_customer_years: int

    def cutoff(self, now: dt.datetime, days: int) -> dt.datetime | None:
        return now - dt.timedelta(days=days) if days else None


ERASED_NAME = "Gelöscht (DSGVO)"
ERASED_TEXT = "[gelöscht]"
