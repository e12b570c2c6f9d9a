"""Demo data of the booking domain (idempotent): Salon Schmidt with two branches, four stylists
and six services (one composite), Physio Nord with one practice; weeks of appointments around
today. Appointments are written in bulk (no hooks: the demo must not send notifications), with
their segments, so the no-double-booking constraint covers them like any other booking."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from appointments import public_holidays
from appointments.models import (
    Appointment,
    AppointmentSegment,
    AvailabilityOverride,
    Branch,
    Customer,
    PolicyConfiguration,
    Service,
    ServiceSegment,
    Staff,
    WorkingHour,
)
from askpro.lru import BoundedCache
from askpro.tenancy import current_schema

WEEKS_BACK, WEEKS_AHEAD = 3, 4
# Public holidays on fixed dates (month, day) when every branch is closed: no demo appointments,
# and a branch closure so availability agrees. Movable feasts are left out of the demo.
FIXED_HOLIDAYS = {(1, 1): "Neujahr", (5, 1): "Tag der Arbeit", (10, 3): "Tag der Deutschen Einheit",
                  (12, 25): "1. Weihnachtstag", (12, 26): "2. Weihnachtstag"}


def is_holiday(day: date) -> bool:
    return (day.month, day.day) in FIXED_HOLIDAYS


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    category: str
    minutes: int
    price_cents: int
    buffer_after: int = 0
    segments: tuple[tuple[str, int, int], ...] = ()  # (name, minutes, gap after)


@dataclass(frozen=True)
class StaffSpec:
    name: str
    email: str
    branches: tuple[str, ...]
    services: tuple[str, ...]
    hours: tuple[tuple[tuple[int, ...], str, str, str | None, str | None], ...]  # weekdays, start, end, break


SALON_BRANCHES = (
    ("Mitte", "Torstraße 1", "10119", "Berlin", "+493012345678"),
    ("Prenzlauer Berg", "Kastanienallee 20", "10435", "Berlin", "+493087654321"),
)
SALON_SERVICES = (
    ServiceSpec("Haarschnitt Damen", "Schnitt", 45, 4900, buffer_after=5),
    ServiceSpec("Haarschnitt Herren", "Schnitt", 30, 2900),
    ServiceSpec("Waschen & Föhnen", "Styling", 30, 2500),
    ServiceSpec("Bartpflege", "Herren", 20, 1500),
    ServiceSpec("Strähnchen", "Farbe", 90, 9900, buffer_after=10),
    ServiceSpec("Färben", "Farbe", 90, 8900, buffer_after=10,
                segments=(("Waschen", 15, 0), ("Farbe auftragen", 30, 30), ("Föhnen", 15, 0))),
)
WEEKDAYS, SATURDAY = (0, 1, 2, 3, 4), (5,)
SALON_STAFF = (
    StaffSpec("Anna Becker", "anna@salon-schmidt.example", ("Mitte",),
              ("Haarschnitt Damen", "Haarschnitt Herren", "Waschen & Föhnen", "Strähnchen", "Färben"),
              ((WEEKDAYS, "09:00", "18:00", "12:30", "13:00"), (SATURDAY, "09:00", "14:00", None, None))),
    StaffSpec("Ben Wagner", "ben@salon-schmidt.example", ("Mitte",),
              ("Haarschnitt Herren", "Bartpflege", "Waschen & Föhnen"),
              (((0, 1, 2, 3), "10:00", "19:00", "14:00", "14:30"),)),
    StaffSpec("Clara Hoffmann", "clara@salon-schmidt.example", ("Prenzlauer Berg",),
              ("Haarschnitt Damen", "Waschen & Föhnen", "Strähnchen", "Färben"),
              (((1, 2, 3, 4), "09:00", "17:00", "12:00", "12:30"), (SATURDAY, "10:00", "15:00", None, None))),
    StaffSpec("David Schulz", "david@salon-schmidt.example", ("Prenzlauer Berg",),
              ("Haarschnitt Herren", "Bartpflege", "Haarschnitt Damen"),
              ((WEEKDAYS, "11:00", "20:00", "15:00", "15:30"),)),
)
PHYSIO_BRANCHES = (("Praxis Nord", "Osterstraße 10", "20259", "Hamburg", "+49404711000"),)
PHYSIO_SERVICES = (
    ServiceSpec("Krankengymnastik", "Therapie", 20, 2800, buffer_after=5),
    ServiceSpec("Manuelle Therapie", "Therapie", 25, 3500, buffer_after=5),
    ServiceSpec("Massage", "Wellness", 30, 3200, buffer_after=5),
    ServiceSpec("Lymphdrainage", "Therapie", 45, 4500, buffer_after=5),
)
PHYSIO_STAFF = (
    StaffSpec("Jonas Nordmann", "jonas@physio-nord.example", ("Praxis Nord",),
              ("Krankengymnastik", "Manuelle Therapie"), ((WEEKDAYS, "08:00", "17:00", "12:00", "12:30"),)),
    StaffSpec("Mia Wolf", "mia@physio-nord.example", ("Praxis Nord",),
              ("Krankengymnastik", "Massage", "Lymphdrainage"), ((WEEKDAYS, "08:00", "16:00", "12:30", "13:00"),)),
    StaffSpec("Lea Krüger", "lea@physio-nord.example", ("Praxis Nord",),
              ("Massage", "Lymphdrainage", "Krankengymnastik"), (((0, 2, 4), "12:00", "19:00", None, None),)),
)
FIRST_NAMES = ("Erika", "Max", "Sophie", "Lukas", "Marie", "Jonas", "Hannah", "Felix", "Lea", "Paul", "Laura",
               "Tim", "Julia", "Leon", "Sarah", "Noah", "Lisa", "Elias", "Nina", "Finn")
LAST_NAMES = ("Mustermann", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
              "Schulz", "Hoffmann", "Koch")


# Demo logins limited to branches (appointments.access); the logins come from tenants.demo.
SALON_SCOPED_LOGINS: dict[str, tuple[str, ...]] = {"clara@salon-schmidt.example": ("Prenzlauer Berg",)}


def seed_tenant(tenant: Any) -> None:
    if tenant.slug == "salon-schmidt":
        _seed(SALON_BRANCHES, SALON_SERVICES, SALON_STAFF, seed=1, customers=45)
        _salon_policies()
        _crm(SALON_NOTES, DUPLICATE_PAIR)
        _scope_demo_logins(SALON_SCOPED_LOGINS)
    elif tenant.slug == "physio-nord":
        _seed(PHYSIO_BRANCHES, PHYSIO_SERVICES, PHYSIO_STAFF, seed=2, customers=30)
        if not PolicyConfiguration.objects.exists():
            PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24,
                                               violation_action="charge_fee", fee_cents=2500)
        _crm(PHYSIO_NOTES, ())


def finish_demo_tenant(tenant: Any) -> None:
    """After every app seeded: each customer's journey, score, loyalty and revenue from the seeded
    appointments and calls."""
    from appointments import crm

    crm.refresh_all()


# (subject, content, type, visibility, pinned): given to the customers with the most completed appointments.
SALON_NOTES = (
    ("Kaffee", "Trinkt Kaffee schwarz, gern vor dem Termin.", "general", "all", True),
    ("Wartezeit", "Hat sich über 20 Minuten Wartezeit beschwert; Gutschein für die Pflege gegeben.",
     "complaint", "staff", False),
    ("Lob", "Sehr zufrieden mit den Strähnchen, empfiehlt uns weiter.", "feedback", "all", False),
    ("Allergie", "Allergie gegen PPD: nur PPD-freie Farben verwenden.", "medical", "staff", True),
    ("Sonderpreis", "Mit der Inhaberin 10 % Rabatt auf Farbe vereinbart.", "general", "management", False),
)
PHYSIO_NOTES = (
    ("Befund", "Bandscheibenvorfall L4/L5, keine Rotation unter Last.", "medical", "staff", True),
    ("Diagnose Arzt", "Verordnung Dr. Brandt: 6x KG, Kontrolle nach 3 Wochen.", "medical", "management", False),
    ("Parken", "Kommt mit dem Auto, braucht den Parkplatz im Hof.", "general", "all", False),
    ("Beschwerde", "Rechnung kam doppelt; storniert und entschuldigt.", "complaint", "staff", False),
    ("Feedback", "Übungen für zu Hause helfen sehr.", "feedback", "all", False),
)
# Two records of one person (a call under another number, the e-mail typed in capitals): "Mögliche Duplikate".
DUPLICATE_PAIR = (
    ("Sabine Krause", "+4915190000001", "sabine.krause@example.com", "admin"),
    ("Sabine Kraus", "+4917690000002", "Sabine.Krause@example.com", "phone"),
)


def _crm(notes: Any, duplicates: Any) -> None:
    """CRM demo: default thresholds, a few notes of each type on the busiest customers, one duplicate pair."""
    from django.db.models import Count, Q

    from appointments.customers import add_note
    from appointments.models import CrmSettings, CustomerNote

    if not CrmSettings.objects.exists():
        CrmSettings.objects.create()
    for name, phone, email, source in duplicates:
        if not Customer.objects.filter(phone=phone).exists():
            Customer.objects.create(name=name, phone=phone, email=email, source=source)
    if CustomerNote.objects.exclude(type=CustomerNote.Type.CALL).filter(subject__in=[n[0] for n in notes]).exists():
        return
    busiest = list(Customer.objects.annotate(done=Count("appointments", filter=Q(appointments__status="completed")))
                   .order_by("-done", "pk")[:3])
    shares = (notes, notes[1::2], notes[0::2])  # the busiest customer gets every kind, the next two some
    for customer, share in zip(busiest, shares, strict=False):
        for subject, content, type_, visibility, pinned in share:
            add_note(customer.pk, content, subject=subject, type=type_, visibility=visibility, pinned=pinned)


def _scope_demo_logins(scoped: dict[str, tuple[str, ...]]) -> None:
    from django.contrib.auth import get_user_model

    from appointments import access

    for email, branch_names in scoped.items():
        user = get_user_model().objects.filter(username=email).first()
        if user is None:
            continue
        branches = list(Branch.objects.filter(name__in=branch_names))
        if set(access.assigned_branches(user)) != set(branches):
            access.assign_branches(user, branches)
        Staff.objects.filter(email=email, user__isnull=True).update(user=user)


def _salon_policies() -> None:
    if PolicyConfiguration.objects.exists():
        return
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24,
                                       max_free_cancellations_per_month=2, violation_action="warn")
    PolicyConfiguration.objects.create(policy_type="reschedule", min_hours_notice=12, max_reschedules_per_booking=3,
                                       violation_action="warn")
    PolicyConfiguration.objects.create(policy_type="recurring", min_series_length=2, max_series_length=52,
                                       violation_action="block")
    PolicyConfiguration.objects.create(policy_type="cancellation", service=Service.objects.get(name="Strähnchen"),
                                       min_hours_notice=48, violation_action="charge_fee", fee_cents=2500)


@transaction.atomic
def _seed(branch_specs: Any, service_specs: Any, staff_specs: Any, *, seed: int, customers: int) -> None:
    branches = {}
    for name, street, postal_code, city, phone in branch_specs:
        branches[name], _created = Branch.objects.get_or_create(
            name=name, defaults={"street": street, "postal_code": postal_code, "city": city, "phone": phone})
    services = {}
    for spec in service_specs:
        service, created = Service.objects.get_or_create(name=spec.name, defaults={
            "category": spec.category, "duration_minutes": spec.minutes, "price_cents": spec.price_cents,
            "buffer_after_minutes": spec.buffer_after, "min_notice_minutes": 60, "slot_interval_minutes": 15})
        if created:
            for position, (name, minutes, gap) in enumerate(spec.segments):
                ServiceSegment.objects.create(service=service, position=position, name=name,
                                              duration_minutes=minutes, gap_after_minutes=gap)
        services[spec.name] = service
    staff_rows = []
    for spec in staff_specs:
        staff, created = Staff.objects.get_or_create(name=spec.name, defaults={"email": spec.email})
        if created:
            staff.branches.set([branches[b] for b in spec.branches])
            staff.services.set([services[s] for s in spec.services])
            for weekdays, start, end, break_start, break_end in spec.hours:
                for weekday in weekdays:
                    WorkingHour.objects.create(
                        staff=staff, branch=branches[spec.branches[0]], weekday=weekday,
                        start_time=time.fromisoformat(start), end_time=time.fromisoformat(end),
                        break_start=time.fromisoformat(break_start) if break_start else None,
                        break_end=time.fromisoformat(break_end) if break_end else None)
        staff_rows.append((staff, spec))
    rng = random.Random(seed)  # noqa: S311 - demo data
    if Customer.objects.count() < customers:
        Customer.objects.bulk_create(
            Customer(name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                     phone=f"+49151{seed}{n:07d}", email=f"kunde{n}@example.com")
            for n in range(customers)
        )
    today = timezone.localdate()
    if not AvailabilityOverride.objects.exists():
        first_staff = staff_rows[0][0]
        holiday = today + timedelta(days=(9 - today.weekday()) % 7 + 7)  # a Wednesday in 1-2 weeks
        AvailabilityOverride.objects.create(staff=first_staff, kind="vacation", date_from=holiday,
                                            date_until=holiday + timedelta(days=2), reason="Urlaub")
    _holiday_closures(list(branches.values()), today)
    if not Appointment.objects.exists():
        _appointments(staff_rows, branches, services, list(Customer.objects.all()), rng, today)


def _holiday_closures(branches: list[Branch], today: date) -> None:
    for offset in range(-7 * WEEKS_BACK, 7 * WEEKS_AHEAD + 14):
        day = today + timedelta(days=offset)
        if not is_holiday(day):
            continue
        for branch in branches:
            AvailabilityOverride.objects.get_or_create(
                branch=branch, staff=None, kind=AvailabilityOverride.Kind.CLOSED, date_from=day, date_until=day,
                defaults={"reason": FIXED_HOLIDAYS[(day.month, day.day)]})


def _appointments(staff_rows: Any, branches: dict[str, Branch], services: dict[str, Service],
                  customers: list[Customer], rng: random.Random, today: date) -> None:
    now = timezone.now()
    _segment_cache.clear()
    appointments: list[Appointment] = []
    plans: list[list[tuple[int, Service, str, datetime, datetime, int]]] = []
    for staff, spec in staff_rows:
        branch = branches[spec.branches[0]]
        own = [services[s] for s in spec.services]
        hours = {wh.weekday: wh for wh in WorkingHour.objects.filter(staff=staff)}
        closed = public_holidays.holidays_between(
            public_holidays.state_for(branch.holiday_region, branch.postal_code),
            today - timedelta(days=7 * WEEKS_BACK), today + timedelta(days=7 * WEEKS_AHEAD),
        )
        away = [(o.date_from, o.date_until) for o in AvailabilityOverride.objects.filter(staff=staff)
                .exclude(kind=AvailabilityOverride.Kind.EXTRA_HOURS)]
        for offset in range(-7 * WEEKS_BACK, 7 * WEEKS_AHEAD):
            day = today + timedelta(days=offset)
            wh = hours.get(day.weekday())
            # no appointments on the branch's public holidays (25/26 Dec, 1 Jan, Easter, ...) or absences
            if wh is None or day in closed or is_holiday(day) or any(start <= day <= end for start, end in away):
                continue
            fill = 0.75 if offset < 0 else max(0.15, 0.7 - offset * 0.02)  # busier soon, emptier later
            cursor = datetime.combine(day, wh.start_time, tzinfo=branch.tzinfo)
            end = datetime.combine(day, wh.end_time, tzinfo=branch.tzinfo)
            pause = None
            if wh.break_start and wh.break_end:
                pause = (datetime.combine(day, wh.break_start, tzinfo=branch.tzinfo),
                         datetime.combine(day, wh.break_end, tzinfo=branch.tzinfo))
            while cursor < end:
                service = rng.choice(own)
                length = timedelta(minutes=sum(m + g for _n, m, g in _segments(service)) or service.duration_minutes)
                finish = cursor + length
                blocked_until = finish + timedelta(minutes=service.buffer_after_minutes)
                crosses_break = pause and cursor < pause[1] and finish > pause[0]
                if finish > end or crosses_break:
                    cursor = pause[1] if pause and cursor < pause[1] else cursor + timedelta(minutes=15)
                    continue
                if rng.random() < fill:
                    status = _status(rng, finish < now, cursor <= now < finish)
                    appointments.append(Appointment(
                        customer=rng.choice(customers), service=service, staff=staff, branch=branch,
                        starts_at=cursor, ends_at=finish, status=status, source=rng.choice(
                            ["phone", "phone", "phone", "admin", "calcom", "api"]),
                        price_cents=service.price_cents, currency=service.currency,
                        cancelled_at=now if status == "cancelled" else None))
                    plans.append([(0, service, service.name, cursor, finish, service.buffer_after_minutes)])
                    cursor = blocked_until
                else:
                    cursor += timedelta(minutes=rng.choice([15, 30, 45]))
                # round up to the quarter hour
                cursor += timedelta(minutes=(-cursor.minute) % 15)
    created = Appointment.objects.bulk_create(appointments)
    segments = []
    for appointment, plan in zip(created, plans, strict=True):
        for position, service, name, starts, ends, buffer_after in plan:
            segments.extend(_segment_rows(appointment, service, position, name, starts, ends, buffer_after))
    AppointmentSegment.objects.bulk_create(segments)


# (schema, service id) -> segments: ids repeat in every tenant's schema, so the schema is part of
# the key; bounded like every per-process cache keyed by tenant.
_segment_cache: BoundedCache[tuple[str, int], list[tuple[str, int, int]]] = BoundedCache(
    settings.ASKPRO_TENANT_CACHE_SIZE
)


def _segments(service: Service) -> list[tuple[str, int, int]]:
    key = (current_schema(), service.pk)
    cached = _segment_cache.get(key)
    if cached is None:
        cached = [(s.name, s.duration_minutes, s.gap_after_minutes) for s in service.segments.all()]
        _segment_cache[key] = cached
    return cached


def _segment_rows(appointment: Appointment, service: Service, position: int, name: str, starts: datetime,
                  ends: datetime, buffer_after: int) -> list[AppointmentSegment]:
    parts = _segments(service)
    if not parts:
        return [AppointmentSegment(appointment=appointment, position=0, name=name, service=service,
                                   staff=appointment.staff, starts_at=starts, ends_at=ends, blocked_from=starts,
                                   blocked_until=ends + timedelta(minutes=buffer_after), status=appointment.status)]
    rows, cursor = [], starts
    for index, (part, minutes, gap) in enumerate(parts):
        seg_end = cursor + timedelta(minutes=minutes)
        last = index == len(parts) - 1
        rows.append(AppointmentSegment(
            appointment=appointment, position=index, name=part, service=service, staff=appointment.staff,
            starts_at=cursor, ends_at=seg_end, blocked_from=cursor,
            blocked_until=seg_end + timedelta(minutes=buffer_after if last else 0), status=appointment.status))
        cursor = seg_end + timedelta(minutes=gap)
    return rows


def _status(rng: random.Random, past: bool, running: bool = False) -> str:
    """Past: mostly completed, some no-shows, few cancelled; running now: in progress; later:
    mostly confirmed, some pending (booked by phone, not yet confirmed), few cancelled."""
    roll = rng.random()
    if running:
        return "in_progress"
    if past:
        return "completed" if roll < 0.88 else "no_show" if roll < 0.95 else "cancelled"
    return "confirmed" if roll < 0.85 else "pending" if roll < 0.95 else "cancelled"
