"""The customer journey, derived from the customer's real history (original system, seed 3.4).

- lead: first contact, no appointment yet
- prospect: an appointment is planned, none completed yet
- customer: the first appointment is completed
- regular: ``REGULAR_MIN_COMPLETED`` or more completed appointments
- vip: completed appointments worth ``VIP_MIN_REVENUE_CENTS`` or more (high lifetime value)
- at_risk: had appointments, nothing planned and no activity for ``AT_RISK_AFTER_DAYS``
- churned: the same for ``CHURNED_AFTER_DAYS``

A status set by hand (:func:`set_manually`, with a reason) stays until :func:`resume_automatic`.
Appointments' hooks recompute one customer after each booking change (``appointments.listeners``);
a nightly task recomputes everyone, so the passing of time moves customers to at_risk/churned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments.customers import change_journey_status
from appointments.models import RELEASED_STATUSES, Appointment, Customer
from askpro.errors import ValidationFailed

REGULAR_MIN_COMPLETED = 3
VIP_MIN_REVENUE_CENTS = 100_000  # 1.000 € of completed appointments
AT_RISK_AFTER_DAYS = 90
CHURNED_AFTER_DAYS = 365

Journey = Customer.Journey


@dataclass(frozen=True)
class History:
    completed: int
    planned: int
    revenue_cents: int
    last_activity: datetime | None


def history(customer_id: int, *, now: datetime | None = None) -> History:
    """What the journey is derived from: completed and planned appointments, revenue, last activity."""
    now = now or timezone.now()
    done = Appointment.Status.COMPLETED
    rows = Appointment.objects.filter(customer_id=customer_id).aggregate(
        completed=Count("pk", filter=Q(status=done)),
        planned=Count("pk", filter=Q(starts_at__gte=now) & ~Q(status__in=[*RELEASED_STATUSES, done])),
        revenue=Sum("price_cents", filter=Q(status=done)),
        last_visit=Max("starts_at", filter=Q(starts_at__lt=now) & ~Q(status=Appointment.Status.CANCELLED)),
    )
    moments = [rows["last_visit"]]
    from calls.models import Call  # calls depends on appointments, not the reverse, at import time

    moments.append(Call.objects.filter(customer_id=customer_id).aggregate(last=Max("started_at"))["last"])
    known = [moment for moment in moments if moment is not None]
    return History(completed=rows["completed"], planned=rows["planned"], revenue_cents=rows["revenue"] or 0,
                   last_activity=max(known) if known else None)


def derive(facts: History, *, now: datetime | None = None) -> str:
    """The journey status these facts give (pure: no database)."""
    now = now or timezone.now()
    if facts.completed == 0:
        return Journey.PROSPECT if facts.planned else Journey.LEAD
    if not facts.planned and facts.last_activity is not None:
        idle = now - facts.last_activity
        if idle >= timedelta(days=CHURNED_AFTER_DAYS):
            return Journey.CHURNED
        if idle >= timedelta(days=AT_RISK_AFTER_DAYS):
            return Journey.AT_RISK
    if facts.revenue_cents >= VIP_MIN_REVENUE_CENTS:
        return Journey.VIP
    if facts.completed >= REGULAR_MIN_COMPLETED:
        return Journey.REGULAR
    return Journey.CUSTOMER


def recompute(customer_id: int, *, actor: str = "system", now: datetime | None = None) -> str:
    """Set the customer's journey status from their history (recording the transition when it
    changes) unless it was set by hand; returns the status the customer now has."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.journey_manual:
            return customer.journey_status
        target = derive(history(customer_id, now=now), now=now)
        if target != customer.journey_status:
            with translation.override(settings.LANGUAGE_CODE):  # stored text: the business's language
                reason = _("derived from the history")
            change_journey_status(customer_id, target, reason=reason, actor=actor)
        return target


def recompute_all(*, now: datetime | None = None) -> int:
    """Recompute every customer of the current schema; returns how many changed."""
    changed = 0
    for customer_id, before in Customer.objects.filter(journey_manual=False).values_list("pk", "journey_status"):
        if recompute(customer_id, now=now) != before:
            changed += 1
    return changed


def set_manually(customer_id: int, to_status: str, *, reason: str, actor: str) -> bool:
    """Set the status by hand with a reason; automatic updates pause until resumed."""
    if not reason.strip():
        raise ValidationFailed(_("Give a reason for changing the journey status by hand."),
                               details={"reason": "empty"})
    with transaction.atomic():
        changed = change_journey_status(customer_id, to_status, reason=reason.strip(), actor=actor)
        Customer.objects.filter(pk=customer_id).update(journey_manual=True)
    return changed


def resume_automatic(customer_id: int, *, actor: str) -> str:
    """Hand the status back to the history and recompute it now."""
    Customer.objects.filter(pk=customer_id).update(journey_manual=False)
    return recompute(customer_id, actor=actor)
