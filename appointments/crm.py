"""Customer value and notes (original system, seed 3.4): engagement score, loyalty, revenue, and
who may read which note.

Engagement score, 0-1000, exactly the seed's formula::

    appointment_count x 10 + completed x 5 + call_count x 3
    + 20 when the last activity (a visit or a call) is at most 30 days old
    - no_shows x 5 - cancelled x 2 + 50 for a VIP

Loyalty: ``points_per_completed_appointment`` per completed appointment; the tier follows the
tenant's point thresholds. Revenue and the average booking value come from completed appointments.

The figures are stored on ``CustomerBookingStats`` and refreshed per customer when something that
changes them happens (booking events, a call ending, a merge) and nightly (the recency bonus and
the journey depend on the clock) - never when a page is shown. A refresh recomputes that one
customer from the database, so a retried event cannot count twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone

from appointments import journey
from appointments.models import (
    Appointment,
    CrmSettings,
    Customer,
    CustomerBookingStats,
    CustomerNote,
    LoyaltyTier,
)

SCORE_MAX = 1000
RECENT_ACTIVITY_DAYS = 30
RECENT_ACTIVITY_BONUS = 20
VIP_BONUS = 50


@dataclass(frozen=True)
class Activity:
    """What the engagement score is computed from."""

    appointments: int
    completed: int
    no_shows: int
    cancelled: int
    calls: int
    last_activity: datetime | None
    is_vip: bool


def engagement_score(activity: Activity, *, now: datetime | None = None) -> int:
    """The seed's engagement score, clamped to 0-1000 (pure)."""
    now = now or timezone.now()
    score = activity.appointments * 10 + activity.completed * 5 + activity.calls * 3
    if activity.last_activity is not None and now - activity.last_activity <= timedelta(days=RECENT_ACTIVITY_DAYS):
        score += RECENT_ACTIVITY_BONUS
    score -= activity.no_shows * 5 + activity.cancelled * 2
    if activity.is_vip:
        score += VIP_BONUS
    return max(0, min(SCORE_MAX, score))


def crm_settings() -> CrmSettings:
    """The tenant's CRM settings (an unsaved row with the defaults when none is stored)."""
    return CrmSettings.objects.first() or CrmSettings()


def loyalty_tier(points: int, settings: CrmSettings) -> str:
    if points >= settings.platinum_min_points:
        return LoyaltyTier.PLATINUM
    if points >= settings.gold_min_points:
        return LoyaltyTier.GOLD
    if points >= settings.silver_min_points:
        return LoyaltyTier.SILVER
    return LoyaltyTier.BRONZE


def refresh_customer_value(customer_id: int, *, now: datetime | None = None,
                           settings: CrmSettings | None = None) -> CustomerBookingStats:
    """Recompute and store one customer's score, loyalty, revenue and counts."""
    from calls.models import Call  # calls depends on appointments, not the reverse, at import time

    now = now or timezone.now()
    settings = settings or crm_settings()
    status = Appointment.Status
    rows = Appointment.objects.filter(customer_id=customer_id).aggregate(
        total=Count("pk"),
        completed=Count("pk", filter=Q(status=status.COMPLETED)),
        no_shows=Count("pk", filter=Q(status=status.NO_SHOW)),
        cancelled=Count("pk", filter=Q(status=status.CANCELLED)),
        revenue=Sum("price_cents", filter=Q(status=status.COMPLETED)),
        last_visit=Max("starts_at", filter=Q(starts_at__lt=now) & ~Q(status=status.CANCELLED)),
    )
    calls = Call.objects.filter(customer_id=customer_id).aggregate(count=Count("pk"), last=Max("started_at"))
    moments = [moment for moment in (rows["last_visit"], calls["last"]) if moment is not None]
    last_activity = max(moments) if moments else None
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        completed, revenue = rows["completed"], rows["revenue"] or 0
        points = completed * settings.points_per_completed_appointment
        values: dict[str, Any] = {
            "appointment_count": rows["total"], "completed_count": completed, "no_show_count": rows["no_shows"],
            "cancelled_count": rows["cancelled"], "call_count": calls["count"], "total_revenue_cents": revenue,
            "average_booking_value_cents": (revenue + completed // 2) // completed if completed else 0,
            "loyalty_points": points, "loyalty_tier": loyalty_tier(points, settings),
            "engagement_score": engagement_score(Activity(
                appointments=rows["total"], completed=completed, no_shows=rows["no_shows"],
                cancelled=rows["cancelled"], calls=calls["count"], last_activity=last_activity,
                is_vip=customer.journey_status == Customer.Journey.VIP), now=now),
            "last_activity_at": last_activity, "value_computed_at": now,
        }
        stats, _created = CustomerBookingStats.objects.update_or_create(customer_id=customer_id, defaults=values)
        return stats


def refresh_customer(customer_id: int, *, actor: str = "system", now: datetime | None = None) -> None:
    """After something happened to a customer: the journey first (the score's VIP bonus reads it),
    then the value."""
    if not Customer.objects.filter(pk=customer_id).exists():
        return  # merged away or erased since the event was emitted
    journey.recompute(customer_id, actor=actor, now=now)
    refresh_customer_value(customer_id, now=now)


def refresh_all(*, now: datetime | None = None) -> tuple[int, int]:
    """Every customer of the current schema: journeys (returns how many moved) and values (how many)."""
    moved = journey.recompute_all(now=now)
    settings = crm_settings()
    count = 0
    for customer_id in Customer.objects.values_list("pk", flat=True).iterator():
        refresh_customer_value(customer_id, now=now, settings=settings)
        count += 1
    return moved, count


# --- who may read which note ------------------------------------------------------------------

ROLE_ORDER = ("admin", "manager", "staff", "receptionist")  # the tenant roles (tenants.roles), most first
VOICE_AGENT = "voice_agent"
_MANAGEMENT = {"admin", "manager"}
_MEDICAL = {"admin", "manager", "staff"}  # the people who treat the customer; never the front desk or the agent
_STAFF_LEVEL = {"admin", "manager", "staff", "receptionist"}


def role_of(user_or_role: Any) -> str:
    """A role name for a user (superuser: admin; otherwise its most privileged tenant group)."""
    if isinstance(user_or_role, str):
        return user_or_role
    user = user_or_role
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    if user.is_superuser:
        return "admin"
    groups = set(user.groups.values_list("name", flat=True))
    return next((role for role in ROLE_ORDER if role in groups), "")


def visible_notes_filter(user_or_role: Any) -> Q:
    """The notes a role may read: "all" for everyone, "staff" for the business's roles,
    "management" for owner and manager; medical notes only for roles that treat customers."""
    role = role_of(user_or_role)
    levels = [CustomerNote.Visibility.ALL]
    if role in _STAFF_LEVEL:
        levels.append(CustomerNote.Visibility.STAFF)
    if role in _MANAGEMENT:
        levels.append(CustomerNote.Visibility.MANAGEMENT)
    condition = Q(visibility__in=levels)
    if role not in _MEDICAL:
        condition &= ~Q(type=CustomerNote.Type.MEDICAL)
    return condition


def notes_visible_to(user_or_role: Any, customer: Customer | int) -> QuerySet[CustomerNote]:
    """The one rule for reading notes (admin, exports, voice agent): the customer's notes the
    user or role may see, pinned first, newest first."""
    customer_id = customer if isinstance(customer, int) else customer.pk
    return (CustomerNote.objects.filter(customer_id=customer_id).filter(visible_notes_filter(user_or_role))
            .order_by("-is_pinned", "-created_at", "-id"))


def may_write_note(user_or_role: Any, *, type: str, visibility: str) -> bool:
    """A role may only write notes it may read."""
    role = role_of(user_or_role)
    if type == CustomerNote.Type.MEDICAL and role not in _MEDICAL:
        return False
    return visibility == CustomerNote.Visibility.ALL or (
        visibility == CustomerNote.Visibility.STAFF and role in _STAFF_LEVEL) or (
        visibility == CustomerNote.Visibility.MANAGEMENT and role in _MANAGEMENT)
