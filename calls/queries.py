"""Reads for the voice agent: what we know about a caller, said in a way the agent can use."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from appointments import crm, public_holidays
from appointments.availability import BookingPlan, Slot, merge_windows, subtract_window
from appointments.customers import find_customer_by_phone
from appointments.models import (
    Appointment,
    AvailabilityOverride,
    Branch,
    Customer,
    Staff,
    WorkingHour,
)
from appointments.queries import Closure, closure_on, slots_for_plan
from calls.models import Call, FunctionCallResult, VoiceSettings
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


AGENT_NOTES = 5


def notes_for_the_agent(customer: Customer) -> list[dict[str, Any]]:
    """The customer's notes the voice agent may use (visible to everyone, never medical), pinned first."""
    return [{"subject": note.subject, "content": note.content, "type": note.type, "pinned": note.is_pinned}
            for note in crm.notes_visible_to(crm.VOICE_AGENT, customer)[:AGENT_NOTES]]


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


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def _spoken_windows(windows: list[tuple[int, int]]) -> str:
    def hhmm(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    parts = [f"{hhmm(start)} bis {hhmm(end)}" for start, end in windows]
    return (" und ".join(parts)) + " Uhr"


def opening_hours(*, now: dt.datetime | None = None) -> dict[int, list[tuple[int, int]]]:
    """Today's open windows per active branch, in minutes after local midnight: the union of the
    staff's working hours (breaks of single people do not close the shop; public holidays do) and
    extra hours, minus branch-wide closures. Two queries."""
    now = now or timezone.now()
    rows = list(Branch.objects.filter(is_active=True).order_by("name").values_list(
        "id", "time_zone", "holiday_region", "postal_code"))
    today = {bid: now.astimezone(zoneinfo.ZoneInfo(tz)).date() for bid, tz, _region, _postal in rows}
    holiday = {  # a public holiday: closed except for extra hours
        bid for bid, _tz, region, postal in rows
        if public_holidays.holidays_between(public_holidays.state_for(region, postal), today[bid], today[bid])
    }
    windows: dict[int, list[tuple[int, int]]] = {bid: [] for bid, _tz, _region, _postal in rows}
    days = set(today.values())
    weekdays = {day.weekday() for day in days}
    for bid, weekday, start, end in WorkingHour.objects.filter(
        branch_id__in=windows, weekday__in=weekdays, staff__is_active=True,
    ).values_list("branch_id", "weekday", "start_time", "end_time"):
        if today[bid].weekday() == weekday and bid not in holiday:
            windows[bid].append((_minutes(start), _minutes(end)))
    overrides = AvailabilityOverride.objects.filter(
        branch_id__in=windows, date_from__lte=max(days, default=now.date()), date_until__gte=min(days, default=now.date()),
    ).filter(Q(staff__isnull=True) | Q(kind=AvailabilityOverride.Kind.EXTRA_HOURS))
    # (branch, start, end); no times: closed the whole day.
    closures: list[tuple[int, dt.time | None, dt.time | None]] = []
    for bid, staff_id, kind, date_from, date_until, from_time, until_time in overrides.values_list(
        "branch_id", "staff_id", "kind", "date_from", "date_until", "start_time", "end_time",
    ):
        if not date_from <= today[bid] <= date_until:
            continue
        if kind == AvailabilityOverride.Kind.EXTRA_HOURS:
            # The override_extra_hours_complete and override_times_paired constraints guarantee both.
            assert from_time is not None and until_time is not None
            windows[bid].append((_minutes(from_time), _minutes(until_time)))
        elif staff_id is None:
            closures.append((bid, from_time, until_time))
    result = {bid: merge_windows(found) for bid, found in windows.items()}
    for bid, closed_from, closed_until in closures:
        # override_times_paired: both times are set or neither is.
        if closed_from is None or closed_until is None:
            result[bid] = []
        else:
            result[bid] = subtract_window(result[bid], (_minutes(closed_from), _minutes(closed_until)))
    return result


def opening_hours_today(tenant: Tenant, *, now: dt.datetime | None = None) -> str:
    """Spoken opening hours for today: "09:00 bis 18:00 Uhr", per branch when they differ
    ("Mitte 09:00 bis 18:00 Uhr, Prenzlauer Berg 10:00 bis 19:00 Uhr"), or "heute geschlossen"."""
    hours = opening_hours(now=now)
    if not hours:
        return ""
    open_branches = {bid: windows for bid, windows in hours.items() if windows}
    if not open_branches:
        return "heute geschlossen"
    distinct = {tuple(windows) for windows in hours.values()}
    if len(distinct) == 1:
        return _spoken_windows(next(iter(open_branches.values())))
    names = dict(Branch.objects.filter(pk__in=hours).values_list("id", "name"))
    return ", ".join(
        f"{names[bid]} {_spoken_windows(windows) if windows else 'geschlossen'}"
        for bid, windows in sorted(hours.items(), key=lambda item: names[item[0]])
    )


# --- availability for the agent -------------------------------------------------------------

ALTERNATIVES = 3
FIRST_SEARCH_DAYS = 3  # most answers lie within three days (one small slot search)
WIDE_SEARCH_DAYS = 28  # otherwise one more search over the following weeks
ALTERNATIVE_GAP = dt.timedelta(hours=1)
ALTERNATIVES_PER_DAY = 2


@dataclass(frozen=True)
class Offer:
    """A free time as the agent offers it: when, with whom, where."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    tz: zoneinfo.ZoneInfo
    staff_id: int
    staff: str
    branch_id: int
    branch: str

    def as_dict(self) -> dict[str, Any]:
        local, end = self.starts_at.astimezone(self.tz), self.ends_at.astimezone(self.tz)
        return {
            "date": local.date().isoformat(), "start": local.strftime("%H:%M"), "end": end.strftime("%H:%M"),
            "starts_at": local.isoformat(), "ends_at": end.isoformat(),
            "staff_id": self.staff_id, "staff": self.staff, "branch_id": self.branch_id, "branch": self.branch,
            "spoken": spoken_moment(self.starts_at, self.tz),
        }


@dataclass(frozen=True)
class Availability:
    """The answer to "is <day> (at <time>) free?": the requested time if free, free times that day
    when no time was named, and the next alternatives spread over the following days."""

    day: dt.date
    requested: dt.datetime | None
    offer: Offer | None
    day_offers: list[Offer] = field(default_factory=list)
    alternatives: list[Offer] = field(default_factory=list)
    closed: Closure | None = None  # when nothing is free: the day is closed (a holiday, a Sunday)

    @property
    def available(self) -> bool:
        return self.offer is not None or bool(self.day_offers)


def spread(slots: Iterable[Slot], count: int = ALTERNATIVES, *, gap: dt.timedelta = ALTERNATIVE_GAP,
           per_day: int = ALTERNATIVES_PER_DAY, after: Slot | None = None) -> list[Slot]:
    """The first ``count`` slots, at least ``gap`` apart and at most ``per_day`` on one day (counting
    ``after``, the time already offered), so the options a caller hears are real choices (not
    14:15, 14:30 and 14:45)."""
    chosen: list[Slot] = [after] if after is not None else []
    days: dict[dt.date, int] = {}
    if after is not None:
        days[after.starts_at.astimezone(after.tz or dt.UTC).date()] = 1
    for slot in slots:
        day = slot.starts_at.astimezone(slot.tz or dt.UTC).date()
        if days.get(day, 0) >= per_day:
            continue
        if chosen and slot.starts_at - chosen[-1].starts_at < gap:
            continue
        chosen.append(slot)
        days[day] = days.get(day, 0) + 1
        if len(chosen) == count + (after is not None):
            break
    return chosen[1:] if after is not None else chosen


def availability(
    plan: BookingPlan,
    *,
    day: dt.date,
    requested: dt.datetime | None,
    branches: dict[int, Branch],
    staff_id: int | None = None,
    branch_id: int | None = None,
    now: dt.datetime | None = None,
    ignore_appointment_id: int | None = None,
    staff_names: dict[int, str] | None = None,
    until: dt.date | None = None,
    window: tuple[dt.time, dt.time] | None = None,
) -> Availability:
    """Free times for a plan around the caller's wish: one slot search over a few days (a second
    over the next weeks only when the alternatives run short), and one query for staff names
    unless ``staff_names`` are given. Without a requested time the wish may be a range of days
    (``day`` to ``until``) and a part of the day (``window``, local wall-clock times): the free
    times inside it are offered, else the next ones in that part of the day (or on those days)."""

    def search(date_from: dt.date, date_to: dt.date) -> list[Slot]:
        return slots_for_plan(
            plan, date_from=date_from, date_to=date_to, staff_id=staff_id, branch_id=branch_id, now=now,
            ignore_appointment_id=ignore_appointment_id,
        )

    wish_last = until or day
    last_day = max(day + dt.timedelta(days=FIRST_SEARCH_DAYS - 1), wish_last)
    slots = search(day, last_day)
    match: Slot | None = None
    day_slots: list[Slot] = []

    def local(slot: Slot) -> dt.datetime:
        return slot.starts_at.astimezone(slot.tz or dt.UTC)

    def in_window(slot: Slot) -> bool:
        return window is None or window[0] <= local(slot).time().replace(tzinfo=None) < window[1]

    if requested is not None:
        match = next((slot for slot in slots if slot.starts_at == requested), None)
        later = [slot for slot in slots if slot.starts_at > requested]
    elif until is None and window is None:
        day_slots = spread([slot for slot in slots if local(slot).date() == day], per_day=ALTERNATIVES)
        later = [slot for slot in slots if local(slot).date() > day]
    else:
        wished = [slot for slot in slots if day <= local(slot).date() <= wish_last]
        day_slots = spread([slot for slot in wished if in_window(slot)],
                           per_day=ALTERNATIVES if wish_last == day else ALTERNATIVES_PER_DAY)
        # nothing in the wish: the same part of the day on the next days, or other times on those days
        later = [slot for slot in slots if (local(slot).date() > wish_last and in_window(slot))
                 or (day <= local(slot).date() <= wish_last and not in_window(slot))]
        later.sort(key=lambda slot: slot.starts_at)
    chosen = spread(later, after=match)
    if match is None and not day_slots and len(chosen) < ALTERNATIVES:
        more = search(last_day + dt.timedelta(days=1), day + dt.timedelta(days=WIDE_SEARCH_DAYS - 1))
        if window is not None:
            more = [slot for slot in more if in_window(slot)] or more
        chosen = spread([*later, *more])
    offered = {slot.staff_id for slot in [*chosen, *day_slots, *([match] if match else [])]}
    names = staff_names if staff_names is not None and offered <= staff_names.keys() else dict(
        Staff.objects.filter(pk__in=offered).values_list("id", "name")
    )

    def offer(slot: Slot) -> Offer:
        branch = branches.get(slot.branch_id)
        return Offer(
            slot.starts_at, slot.ends_at, slot.tz or (branch.tzinfo if branch else dt.UTC),  # type: ignore[arg-type]
            slot.staff_id, names.get(slot.staff_id, ""), slot.branch_id, branch.name if branch else "",
        )

    closed = None
    if match is None and not day_slots:
        closed = closure_on(day, branch_ids=[branch_id] if branch_id is not None else list(branches))
    return Availability(
        day=day, requested=requested, offer=offer(match) if match else None,
        day_offers=[offer(slot) for slot in day_slots], alternatives=[offer(slot) for slot in chosen], closed=closed,
    )


# --- the caller's own appointments ------------------------------------------------------------


def caller_customer(call_id: str, number: str | None) -> Customer | None:
    """The customer on the line: by the caller's number, else the one the call was linked to."""
    if number:
        return find_customer_by_phone(number)
    customer_id = Call.objects.filter(call_id=call_id).values_list("customer_id", flat=True).first()
    return Customer.objects.filter(pk=customer_id).first() if customer_id else None


def booked_in_call(call_id: str, *, service_id: int, starts_at: dt.datetime) -> Appointment | None:
    """The still upcoming appointment this call already booked for this service and start, if any
    (from the call's stored booking answers: one query for them, one for the appointment)."""
    answers = FunctionCallResult.objects.filter(call_id=call_id, function="book_appointment").values_list(
        "response", flat=True,
    )
    said = [answer.get("appointment_id") for answer in answers if isinstance(answer, dict)]
    ids: list[int] = [pk for pk in said if isinstance(pk, int)]
    if not ids:
        return None
    return (
        Appointment.objects.filter(pk__in=ids, service_id=service_id, starts_at=starts_at, status__in=UPCOMING)
        .select_related("service", "staff", "branch")
        .first()
    )


def upcoming_appointments(customer: Customer, *, now: dt.datetime | None = None, limit: int = 5) -> list[Appointment]:
    """The customer's pending or confirmed appointments from now on, soonest first."""
    return list(
        Appointment.objects.filter(customer=customer, starts_at__gte=now or timezone.now(), status__in=UPCOMING)
        .select_related("service", "staff", "branch")
        .order_by("starts_at")[:limit]
    )


def spoken_appointment(appointment: Appointment) -> str:
    """"Dienstag, 14. Oktober, um 14:00 Uhr: Haarschnitt bei Anna"."""
    return describe_appointment(appointment)["spoken"]

