"""The customer journey, derived from the customer's real history (original system, seed 3.4).

- lead: first contact, no appointment yet
- prospect: an appointment is planned, none completed yet
- customer: the first appointment is completed
- regular: ``regular_min_completed`` or more completed appointments
- vip: ``vip_min_completed`` completed appointments or ``vip_min_revenue_cents`` of revenue
- at_risk: had appointments, nothing planned and no activity for ``at_risk_after_days``
- churned: the same for ``churned_after_days``

The thresholds are the tenant's ``CrmSettings`` (defaults below when it has none).

A status set by hand (:func:`set_manually`, with a reason) stays until the history really changes:
the status derived when it was set is remembered, and the first recompute that derives another one
(a completion, a no-show, a cancellation, the nightly pass finding the customer inactive) ends the
manual status; :func:`resume_automatic` ends it at once. Appointments' hooks recompute one customer
after each booking change (``appointments.listeners``); a nightly task recomputes everyone, so the
passing of time moves customers to at_risk/churned.
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
class Thresholds:
    regular_min_completed: int = REGULAR_MIN_COMPLETED
    vip_min_completed: int = 10  # 0: VIP only by revenue
    vip_min_revenue_cents: int = VIP_MIN_REVENUE_CENTS
    at_risk_after_days: int = AT_RISK_AFTER_DAYS
    churned_after_days: int = CHURNED_AFTER_DAYS


def tenant_thresholds() -> Thresholds:
    """The current tenant's thresholds (its ``CrmSettings`` row, or the defaults)."""
    from appointments.models import CrmSettings

    row = CrmSettings.objects.first()
    if row is None:
        return Thresholds()
    return Thresholds(regular_min_completed=row.regular_min_completed, vip_min_completed=row.vip_min_completed,
                      vip_min_revenue_cents=row.vip_min_revenue_cents, at_risk_after_days=row.at_risk_after_days,
                      churned_after_days=row.churned_after_days)


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


def derive(facts: History, *, now: datetime | None = None, thresholds: Thresholds | None = None) -> str:
    """The journey status these facts give (pure: no database)."""
    now = now or timezone.now()
    limits = thresholds or Thresholds()
    if facts.completed == 0:
        return Journey.PROSPECT if facts.planned else Journey.LEAD
    if not facts.planned and facts.last_activity is not None:
        idle = now - facts.last_activity
        if idle >= timedelta(days=limits.churned_after_days):
            return Journey.CHURNED
        if idle >= timedelta(days=limits.at_risk_after_days):
            return Journey.AT_RISK
    if facts.revenue_cents >= limits.vip_min_revenue_cents or (
            limits.vip_min_completed and facts.completed >= limits.vip_min_completed):
        return Journey.VIP
    if facts.completed >= limits.regular_min_completed:
        return Journey.REGULAR
    return Journey.CUSTOMER


def derived_status(customer_id: int, *, now: datetime | None = None, thresholds: Thresholds | None = None) -> str:
    """What the history says now, whatever is stored."""
    return derive(history(customer_id, now=now), now=now, thresholds=thresholds or tenant_thresholds())


def recompute(customer_id: int, *, actor: str = "system", now: datetime | None = None,
              thresholds: Thresholds | None = None) -> str:
    """Set the customer's journey status from their history (recording the transition when it
    changes). A status set by hand stays while the history gives what it gave when it was set;
    once it gives another, the manual status ends. Returns the status the customer now has."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        target = derived_status(customer_id, now=now, thresholds=thresholds)
        if customer.journey_manual:
            if not customer.journey_manual_baseline:  # set by hand before baselines were kept
                Customer.objects.filter(pk=customer_id).update(journey_manual_baseline=target)
                return customer.journey_status
            if target == customer.journey_manual_baseline:
                return customer.journey_status
            Customer.objects.filter(pk=customer_id).update(journey_manual=False, journey_manual_baseline="")
            with translation.override(settings.LANGUAGE_CODE):
                reason = _("the history changed after the status was set by hand")
        else:
            with translation.override(settings.LANGUAGE_CODE):  # stored text: the business's language
                reason = _("derived from the history")
        if target != customer.journey_status:
            change_journey_status(customer_id, target, reason=reason, actor=actor)
        return target


def recompute_all(*, now: datetime | None = None) -> int:
    """Recompute every customer of the current schema (manual ones too: their status ends only if
    the history changed); returns how many changed."""
    changed = 0
    limits = tenant_thresholds()
    for customer_id, before in Customer.objects.values_list("pk", "journey_status"):
        if recompute(customer_id, now=now, thresholds=limits) != before:
            changed += 1
    return changed


def set_manually(customer_id: int, to_status: str, *, reason: str, actor: str) -> bool:
    """Set the status by hand with a reason; it stays until the history derives another status
    than it does now (or until resumed)."""
    if not reason.strip():
        raise ValidationFailed(_("Give a reason for changing the journey status by hand."),
                               details={"reason": "empty"})
    with transaction.atomic():
        changed = change_journey_status(customer_id, to_status, reason=reason.strip(), actor=actor)
        Customer.objects.filter(pk=customer_id).update(journey_manual=True,
                                                       journey_manual_baseline=derived_status(customer_id))
    return changed


def resume_automatic(customer_id: int, *, actor: str) -> str:
    """Hand the status back to the history and recompute it now."""
    Customer.objects.filter(pk=customer_id).update(journey_manual=False, journey_manual_baseline="")
    return recompute(customer_id, actor=actor)
