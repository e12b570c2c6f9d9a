"""Effective booking policies: staff -> service -> branch -> company, read from a cached copy
of the tenant's (few) policy rows.

The copy is keyed by the tenant's policy token (``appointments_policy_generation``, rewritten by a
statement-level trigger on every write to the policy table, migration 0006), so any change, also
a queryset delete in the admin or raw SQL, is seen by the next read in every process: one small
query for the token instead of trusting a cache for five minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection

from appointments.models import PolicyConfiguration

CACHE_KEY = "appointments:policies:v2"  # the cache key function adds the tenant's schema
CACHE_SECONDS = 300


@dataclass(frozen=True)
class PolicyDecision:
    """The verdict of a policy on one change: which rules were broken and what follows."""

    policy_id: int | None
    violations: tuple[str, ...] = ()
    action: str = ""  # "" when nothing was violated, else the policy's violation action
    fee_cents: int = 0
    hours_notice: Decimal = Decimal("0")

    @property
    def violated(self) -> bool:
        return bool(self.violations)

    @property
    def blocks(self) -> bool:
        return self.action == PolicyConfiguration.ViolationAction.BLOCK

    @property
    def label(self) -> str:
        """``passed``, ``warned``, ``fee_charged`` or ``blocked`` (API wording)."""
        if not self.violated:
            return "passed"
        return {"warn": "warned", "charge_fee": "fee_charged", "block": "blocked"}[self.action]


TOKEN_SQL = "SELECT token::text FROM appointments_policy_generation WHERE id = 1"


def forget_cached_policies() -> None:
    """Nothing to do any more: the token changes with every write (kept for callers' sake)."""


def _all_policies() -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(TOKEN_SQL)
        row = cursor.fetchone()
    key = f"{CACHE_KEY}:{row[0] if row else '-'}"
    rows = cache.get(key)
    if rows is None:
        rows = list(PolicyConfiguration.objects.filter(is_active=True).values())
        cache.set(key, rows, CACHE_SECONDS)
    return rows


def effective_policy(
    policy_type: str, *, staff_id: int | None, service_id: int | None, branch_id: int | None
) -> dict[str, Any] | None:
    """The most specific active policy of ``policy_type``: staff, then service, branch, company."""
    rows = [row for row in _all_policies() if row["policy_type"] == policy_type]
    for field, value in (("staff_id", staff_id), ("service_id", service_id), ("branch_id", branch_id)):
        if value is None:
            continue
        for row in rows:
            if row[field] == value:
                return row
    for row in rows:
        if row["staff_id"] is None and row["service_id"] is None and row["branch_id"] is None:
            return row
    return None


def hours_between(now: datetime, starts_at: datetime) -> Decimal:
    return (Decimal((starts_at - now).total_seconds()) / Decimal(3600)).quantize(Decimal("0.01"))


def decide(policy: dict[str, Any] | None, violations: list[str], hours_notice: Decimal) -> PolicyDecision:
    if policy is None:
        return PolicyDecision(None, hours_notice=hours_notice)
    if not violations:
        return PolicyDecision(policy["id"], hours_notice=hours_notice)
    action = policy["violation_action"]
    fee = policy["fee_cents"] if action == PolicyConfiguration.ViolationAction.CHARGE_FEE else 0
    return PolicyDecision(policy["id"], tuple(violations), action, fee, hours_notice)
