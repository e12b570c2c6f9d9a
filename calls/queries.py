"""Reads for the voice agent: what we know about a caller, said in a way the agent can use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from appointments.models import Appointment, Customer
from calls.models import VoiceSettings
from calls.speech import spoken_moment
from tenants.models import Tenant

UPCOMING = (Appointment.Status.PENDING, Appointment.Status.CONFIRMED)


@dataclass(frozen=True)
class CustomerSummary:
    appointment_count: int
    completed_count: int
    no_show_count: int
    last_appointment: dt.date | None
    next_appointment: Appointment | None


def customer_summary(customer: Customer, *, now: dt.datetime | None = None) -> CustomerSummary:
    """Counts and the next upcoming appointment of a customer (two indexed queries)."""
    now = now or timezone.now()
    stats = Appointment.objects.filter(customer=customer).aggregate(
        total=Count("id"),
        completed=Count("id", filter=Q(status=Appointment.Status.COMPLETED)),
        no_shows=Count("id", filter=Q(status=Appointment.Status.NO_SHOW)),
        last=Max("starts_at", filter=Q(starts_at__lt=now) & ~Q(status=Appointment.Status.CANCELLED)),
    )
    upcoming = next_appointment(customer, now=now)
    last = stats["last"]
    return CustomerSummary(
        appointment_count=stats["total"], completed_count=stats["completed"], no_show_count=stats["no_shows"],
        last_appointment=last.astimezone(timezone.get_default_timezone()).date() if last else None,
        next_appointment=upcoming,
    )


def next_appointment(customer: Customer, *, now: dt.datetime | None = None) -> Appointment | None:
    return (
        Appointment.objects.filter(customer=customer, starts_at__gte=now or timezone.now(), status__in=UPCOMING)
        .select_related("service", "staff", "branch")
        .order_by("starts_at")
        .first()
    )


def describe_appointment(appointment: Appointment) -> dict[str, Any]:
    """Structured and spoken form of an appointment for an agent answer."""
    tz = appointment.branch.tzinfo
    return {
        "appointment_id": appointment.pk,
        "starts_at": appointment.starts_at.astimezone(tz).isoformat(),
        "service": appointment.service.name,
        "staff": appointment.staff.name,
        "branch": appointment.branch.name,
        "spoken": f"{spoken_moment(appointment.starts_at, tz)}: {appointment.service.name} bei {appointment.staff.name}",
    }


def company_name(tenant: Tenant) -> str:
    """How the agent names the business."""
    voice = VoiceSettings.objects.only("spoken_company_name").first()
    return (voice.spoken_company_name if voice and voice.spoken_company_name else "") or tenant.name


def opening_hours_today(tenant: Tenant, *, now: dt.datetime | None = None) -> str:
    """Spoken opening hours for today, e.g. "09:00 bis 18:00 Uhr" or "heute geschlossen".

    PHASE 2: derive from the scheduling app's working hours (branch hours for the caller's
    branch, else the union of the tenant's branches). Until then: unknown (empty string blanks
    the agent's ``{{opening_hours_today}}``)."""
    return ""
