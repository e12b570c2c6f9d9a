"""The booking domain on the tenant dashboard: the day's timeline with the next free time,
appointment KPIs against the previous period, bookings per day by source, the customer journey
and policy violations. Figures come from :func:`figures` (queries only; formatted here)."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.access import (
    is_branch_scoped,
    scope_appointments,
    scope_cache_key,
    visible_branches,
)
from appointments.models import Appointment, AppointmentModification, Customer, Service
from askpro.dashboard import Kpi, Panel, cached, may_see_money, trend
from askpro.display import euros, local_date, local_time, long_date
from askpro.tenancy import current_tenant

Status = Appointment.Status
NOT_HAPPENING = (Status.CANCELLED,)
NO_REVENUE = (Status.CANCELLED, Status.NO_SHOW)
SOURCE_COLOURS = {"phone": "var(--color-primary-600)", "admin": "var(--color-primary-300)",
                  "api": "#f59e0b", "calcom": "#10b981"}
JOURNEY_COLOURS = ["#a78bfa", "#7c3aed", "#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#9ca3af"]


def tenant_zone() -> zoneinfo.ZoneInfo:
    tenant = current_tenant()
    return zoneinfo.ZoneInfo(tenant.time_zone if tenant is not None else settings.TIME_ZONE)


def _midnight(day: date, tz: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


@dataclass(frozen=True)
class Periods:
    """The local periods the KPIs compare: today vs the same weekday a week ago, this week (Mon-Sun)
    vs last week, the last 30 days vs the 30 before, this month so far vs last month's same span."""

    now: datetime
    tz: zoneinfo.ZoneInfo

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    def day(self, offset_days: int = 0) -> tuple[datetime, datetime]:
        day = self.today + timedelta(days=offset_days)
        return _midnight(day, self.tz), _midnight(day + timedelta(days=1), self.tz)

    def week(self, offset_weeks: int = 0) -> tuple[datetime, datetime]:
        monday = self.today - timedelta(days=self.today.weekday()) + timedelta(weeks=offset_weeks)
        return _midnight(monday, self.tz), _midnight(monday + timedelta(days=7), self.tz)

    def month_to_date(self, previous: bool = False) -> tuple[datetime, datetime]:
        first = self.today.replace(day=1)
        if not previous:
            return _midnight(first, self.tz), _midnight(self.today + timedelta(days=1), self.tz)
        last_month_first = (first - timedelta(days=1)).replace(day=1)
        span_end = min(last_month_first + timedelta(days=self.today.day), first)
        return _midnight(last_month_first, self.tz), _midnight(span_end, self.tz)


def _between(bounds: tuple[datetime, datetime]) -> Q:
    return Q(starts_at__gte=bounds[0], starts_at__lt=bounds[1])


def figures(now: datetime | None = None, *, user: Any = None) -> dict[str, Any]:
    """Appointment counts and sums of the KPI periods (one aggregate query), of the branches
    ``user`` may see (all without a user)."""
    periods = Periods(now or timezone.now(), tenant_zone())
    now = periods.now
    last30 = (now - timedelta(days=30), now)
    prev30 = (now - timedelta(days=60), now - timedelta(days=30))
    happening = ~Q(status__in=NOT_HAPPENING)
    earning = ~Q(status__in=NO_REVENUE)
    settled = Q(status__in=(Status.COMPLETED, Status.NO_SHOW))

    def rate_terms(name: str, bounds: tuple[datetime, datetime]) -> dict[str, Any]:
        return {
            f"{name}_all": Count("id", filter=_between(bounds)),
            f"{name}_cancelled": Count("id", filter=_between(bounds) & Q(status=Status.CANCELLED)),
            f"{name}_settled": Count("id", filter=_between(bounds) & settled),
            f"{name}_no_show": Count("id", filter=_between(bounds) & Q(status=Status.NO_SHOW)),
        }

    widest = (min(prev30[0], periods.week(-1)[0], periods.month_to_date(True)[0], periods.day(-7)[0]),
              max(periods.week()[1], periods.day()[1]))
    result = _scoped(user).filter(_between(widest)).aggregate(
        today=Count("id", filter=_between(periods.day()) & happening),
        today_previous=Count("id", filter=_between(periods.day(-7)) & happening),
        week=Count("id", filter=_between(periods.week()) & happening),
        week_previous=Count("id", filter=_between(periods.week(-1)) & happening),
        revenue=Sum("price_cents", filter=_between(periods.month_to_date()) & earning),
        revenue_previous=Sum("price_cents", filter=_between(periods.month_to_date(True)) & earning),
        **rate_terms("last30", last30), **rate_terms("prev30", prev30),
    )
    result["revenue"] = result["revenue"] or 0
    result["revenue_previous"] = result["revenue_previous"] or 0
    return result


def rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} %".replace(".", ",")


def _scoped(user: Any) -> Any:
    return Appointment.objects.all() if user is None else scope_appointments(Appointment.objects.all(), user)


def todays_appointments(now: datetime | None = None, *, user: Any = None) -> list[Appointment]:
    periods = Periods(now or timezone.now(), tenant_zone())
    return list(
        _scoped(user).filter(_between(periods.day())).exclude(status=Status.CANCELLED)
        .select_related("customer", "service", "staff", "branch").order_by("starts_at", "staff__name")[:60]
    )


def timeline_rows(now: datetime | None = None, *, user: Any = None) -> list[dict[str, str]]:
    return [{
        "time": f"{local_time(a.starts_at, a.branch.tzinfo)}–{local_time(a.ends_at, a.branch.tzinfo)}",
        "customer": a.customer.name or a.customer.phone, "service": a.service.name, "staff": a.staff.name,
        "status": a.status, "status_label": str(Status(a.status).label),
        "href": reverse("admin:appointments_appointment_change", args=[a.pk]),
    } for a in todays_appointments(now, user=user)]


def next_free_slot(now: datetime | None = None, *, user: Any = None) -> dict[str, Any] | None:
    """The next free time today or in the coming days, for the most booked service (in the first
    branch of a login limited to branches)."""
    from appointments.queries import find_slots

    now = now or timezone.now()
    service_id = (
        _scoped(user).filter(starts_at__gte=now - timedelta(days=30), service__is_active=True)
        .values("service_id").annotate(n=Count("id")).order_by("-n").values_list("service_id", flat=True).first()
    ) or Service.objects.filter(is_active=True).order_by("name").values_list("pk", flat=True).first()
    if service_id is None:
        return None
    today = now.astimezone(tenant_zone()).date()
    branch_id = None
    if user is not None and is_branch_scoped(user):
        branch_id = visible_branches(user).filter(is_active=True).values_list("pk", flat=True).first()
        if branch_id is None:
            return None
    slots = find_slots(service_id=service_id, date_from=today, date_to=today + timedelta(days=6), now=now, limit=1,
                       branch_id=branch_id)
    if not slots:
        return None
    slot = slots[0]
    service = Service.objects.get(pk=service_id)
    from appointments.models import Branch, Staff

    branch = Branch.objects.get(pk=slot.branch_id)
    return {
        "when": f"{long_date(slot.starts_at, branch.tzinfo)}, {local_time(slot.starts_at, branch.tzinfo)}",
        "service": service.name,
        "staff": Staff.objects.filter(pk=slot.staff_id).values_list("name", flat=True).first() or "",
        "href": reverse("admin:appointments_appointment_calendar")
        + f"?branch={slot.branch_id}&date={slot.starts_at.astimezone(branch.tzinfo).date().isoformat()}",
    }


def bookings_by_source(days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """Appointments per local day of the last ``days`` days (by appointment day), split by source."""
    periods = Periods(now or timezone.now(), tenant_zone())
    first = periods.today - timedelta(days=days - 1)
    rows = (
        Appointment.objects.filter(starts_at__gte=_midnight(first, periods.tz), starts_at__lt=periods.day()[1])
        .exclude(status=Status.CANCELLED)
        .annotate(day=TruncDate("starts_at", tzinfo=periods.tz)).values("day", "source").annotate(n=Count("id"))
    )
    counts = {(row["day"], row["source"]): row["n"] for row in rows}
    labels = [first + timedelta(days=i) for i in range(days)]
    return {
        "labels": [f"{day:%d.%m.}" for day in labels],
        "datasets": [
            {"label": str(label), "data": [counts.get((day, source), 0) for day in labels],
             "backgroundColor": SOURCE_COLOURS.get(source, "#9ca3af"), "stack": "bookings"}
            for source, label in Appointment.Source.choices
        ],
    }


def journey_distribution() -> dict[str, int]:
    counts = dict(Customer.objects.values_list("journey_status").annotate(n=Count("id")).values_list("journey_status", "n"))
    return {value: counts.get(value, 0) for value in Customer.Journey.values}


def policy_violations(days: int = 30, now: datetime | None = None) -> tuple[int, list[AppointmentModification]]:
    since = (now or timezone.now()) - timedelta(days=days)
    qs = AppointmentModification.objects.filter(policy_violated=True, created_at__gte=since)
    return qs.count(), list(qs.select_related("customer").order_by("-created_at")[:5])


# --- panels ---------------------------------------------------------------------------------


def _compare(previous_label: str, value: Any) -> str:
    return f"{previous_label}: {value}"


def tenant_panels(request: HttpRequest) -> list[Panel]:
    money = may_see_money(request)
    tz = tenant_zone()
    changelist = reverse("admin:appointments_appointment_changelist")
    calendar = reverse("admin:appointments_appointment_calendar")
    user = request.user
    scope = scope_cache_key(user)  # a login limited to branches gets its own cached figures
    f = cached(f"appointments:figures:{scope}", lambda: figures(user=user))
    no_show = rate(f["last30_no_show"], f["last30_settled"])
    no_show_prev = rate(f["prev30_no_show"], f["prev30_settled"])
    cancel = rate(f["last30_cancelled"], f["last30_all"])
    cancel_prev = rate(f["prev30_cancelled"], f["prev30_all"])
    kpis = [
        Kpi("appointments-today", _("Appointments today"), str(f["today"]),
            _compare(_("Same day last week"), f["today_previous"]), trend(f["today"], f["today_previous"]),
            href=calendar),
        Kpi("appointments-week", _("Appointments this week"), str(f["week"]),
            _compare(_("Last week"), f["week_previous"]), trend(f["week"], f["week_previous"]), href=calendar + "?view=timeGridWeek"),
        Kpi("no-show-rate", _("No-show rate (30 days)"), percent(no_show),
            _compare(_("30 days before"), percent(no_show_prev)), trend(no_show or 0, no_show_prev or 0),
            footer=_("%(n)s of %(m)s finished appointments") % {"n": f["last30_no_show"], "m": f["last30_settled"]},
            href=changelist + "?status__exact=no_show"),
        Kpi("cancellation-rate", _("Cancellation rate (30 days)"), percent(cancel),
            _compare(_("30 days before"), percent(cancel_prev)), trend(cancel or 0, cancel_prev or 0),
            footer=_("%(n)s of %(m)s appointments") % {"n": f["last30_cancelled"], "m": f["last30_all"]},
            href=changelist + "?status__exact=cancelled"),
    ]
    if money:
        kpis.append(Kpi("revenue-month", _("Revenue booked this month"), euros(f["revenue"]),
                        _compare(_("Last month, same days"), euros(f["revenue_previous"])),
                        trend(f["revenue"], f["revenue_previous"]),
                        footer=_("Appointments of this month without cancellations and no-shows")))
    free = cached(f"appointments:next-free:{scope}", lambda: next_free_slot(user=user))
    rows = cached(f"appointments:today:{scope}", lambda: timeline_rows(user=user))
    violations, recent = cached("appointments:violations", policy_violations)
    journey = cached("appointments:journey", journey_distribution)
    panels = [
        Panel("today", "timeline", _("Today, %(date)s") % {"date": long_date(timezone.now(), tz)},
              {"rows": rows, "next_free": free, "empty": _("No appointments today.")},
              order=20, width="half", href=calendar, link_text=_("Open the calendar")),
        Panel("appointment-kpis", "kpis", _("Appointments"), kpis, order=10),
        Panel("bookings-by-source", "chart", _("Appointments per day by booking channel (30 days)"),
              {"type": "bar", "data": cached("appointments:by-source", bookings_by_source),
               "options": {"responsive": True, "maintainAspectRatio": False,
                           "plugins": {"legend": {"display": True, "position": "bottom"}},
                           "scales": {"x": {"stacked": True, "grid": {"display": False}},
                                      "y": {"stacked": True, "beginAtZero": True}}}},
              order=40, width="full"),
        Panel("journey", "chart", _("Customer journey"),
              {"type": "doughnut", "data": {
                  "labels": [str(Customer.Journey(k).label).split(" (")[0] for k in journey],
                  "datasets": [{"data": list(journey.values()), "backgroundColor": JOURNEY_COLOURS}]},
               "options": {"responsive": True, "maintainAspectRatio": False,
                           "plugins": {"legend": {"display": True, "position": "right"}}}},
              order=50, width="third"),
        Panel("policy-violations", "table", _("Policy violations (30 days): %(n)s") % {"n": violations}, {
            "headers": [_("Date"), _("Customer"), _("Kind"), _("Rules")] + ([_("Fee")] if money else []),
            "rows": [[local_date(m.created_at, tz), str(m.customer), str(m.get_kind_display()),
                      ", ".join(m.violations)] + ([euros(m.fee_cents)] if money else []) for m in recent],
            "empty": _("No violations in the last 30 days."),
        }, order=32, width="third", href=reverse("admin:appointments_appointmentmodification_changelist")
            + "?policy_violated__exact=1", link_text=_("All modifications"), extra={"count": violations}),
    ]
    return panels
