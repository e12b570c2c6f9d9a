from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django_tenants.utils import tenant_context

from appointments.errors import SlotUnavailable
from appointments.locking import lock_staff
from appointments.models import Appointment, AppointmentSegment, Branch, Customer, Service, Staff
from appointments.services import book_appointment, reschedule_appointment
from tenants.models import Tenant
from tests.appointments.conftest import MONDAY, NOW
from tests.conftest import wait_for
from tests.fixtures.appointments import add_hours, berlin


def test_twenty_simultaneous_bookings_of_one_slot_book_it_exactly_once(committed_db):
    # given committed data that every thread's own connection can see
    salon = Tenant.objects.get(slug="salon-schmidt")
    with tenant_context(salon):
        branch = Branch.objects.create(name="Mitte")
        service = Service.objects.create(name="Haarschnitt", duration_minutes=30)
        anna = Staff.objects.create(name="Anna")
        anna.branches.add(branch)
        anna.services.add(service)
        add_hours(anna, branch, range(0, 6), "09:00", "18:00")
        customers = [Customer.objects.create(name=f"Kunde {n}") for n in range(20)]

    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(customer: Customer) -> None:
        try:
            with tenant_context(salon):
                barrier.wait(timeout=30)
                try:
                    book_appointment(customer_id=customer.pk, service_id=service.pk, staff_id=anna.pk,
                                     starts_at=berlin(MONDAY, "10:00"), source="api", actor="api:test", now=NOW)
                    outcome = "booked"
                except SlotUnavailable as exc:
                    outcome = exc.code
        except Exception as exc:  # a crash must show up as a failure, not vanish with the thread
            outcome = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    # when
    threads = [threading.Thread(target=attempt, args=(customer,)) for customer in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then
    assert Counter(outcomes) == {"booked": 1, "SLOT_UNAVAILABLE": 19}
    with tenant_context(salon):
        assert Appointment.objects.count() == 1
        assert AppointmentSegment.objects.filter(status="confirmed").count() == 1


# --- under load: 50 conflicting requests while two CPU-bound processes run beside them -------

RACERS = 50


@pytest.fixture
def busy_machine() -> Iterator[None]:
    """Two CPU-bound processes beside the test, as on a loaded CI machine (2 cores)."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]  # noqa: S603
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait(timeout=30)


def _race(salon: Tenant, attempts: list[Callable[[], object]]) -> Counter[str]:
    """Run every attempt in its own thread and connection at once; their outcomes by code."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(attempt: Callable[[], object]) -> None:
        try:
            with tenant_context(salon):
                barrier.wait(timeout=120)
                try:
                    attempt()
                    outcome = "booked"
                except SlotUnavailable as exc:
                    outcome = exc.code
        except Exception as exc:  # a crash must show up as a failure, not vanish with the thread
            outcome = f"error: {type(exc).__name__}: {exc}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in threads), "a booking never returned"
    return Counter(outcomes)


def _customers(count: int) -> list[Customer]:
    return Customer.objects.bulk_create(Customer(name=f"Kunde {n}") for n in range(count))


def _book(customer: Customer, service: Service, starts_at: datetime, staff: Staff | None) -> Callable[[], object]:
    return lambda: book_appointment(
        customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk if staff else None,
        starts_at=starts_at, source="api", actor="api:test", now=NOW,
    )


@pytest.mark.slow
def test_fifty_bookings_of_one_slot_on_a_busy_machine_book_it_once_and_refuse_the_rest(
    committed_db, salon, anna, haarschnitt, busy_machine
):
    # given
    with tenant_context(salon):
        customers = _customers(RACERS)

    # when
    outcomes = _race(salon, [_book(c, haarschnitt, berlin(MONDAY, "10:00"), anna) for c in customers])

    # then
    assert outcomes == {"booked": 1, "SLOT_UNAVAILABLE": RACERS - 1}
    with tenant_context(salon):
        assert Appointment.objects.count() == 1
        assert AppointmentSegment.objects.filter(status="confirmed").count() == 1


@pytest.mark.slow
def test_fifty_overlapping_bookings_and_moves_on_one_staff_member_on_a_busy_machine_place_exactly_one(
    committed_db, salon, anna, haarschnitt, busy_machine
):
    # given every request wants 30 minutes of Anna starting between 10:00 and 10:25 (all overlap),
    # ten of them by moving an appointment she already has in the afternoon
    with tenant_context(salon):
        Service.objects.filter(pk=haarschnitt.pk).update(slot_interval_minutes=5)
        customers = _customers(RACERS)
        afternoon = [
            book_appointment(customer_id=customers[n].pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                             starts_at=berlin(MONDAY, "13:00") + timedelta(minutes=30 * n), source="admin",
                             actor="admin:test", now=NOW)
            for n in range(10)
        ]
    wanted = [berlin(MONDAY, "10:00") + timedelta(minutes=5 * (n % 6)) for n in range(RACERS)]
    attempts: list[Callable[[], object]] = [
        (lambda appointment=appointment, starts_at=starts_at: reschedule_appointment(
            appointment_id=appointment.pk, new_starts_at=starts_at, source="api", actor="api:test", now=NOW))
        for appointment, starts_at in zip(afternoon, wanted[:10], strict=True)
    ]
    attempts += [_book(c, haarschnitt, starts_at, anna) for c, starts_at in zip(customers[10:], wanted[10:], strict=True)]

    # when
    outcomes = _race(salon, attempts)

    # then
    assert outcomes == {"booked": 1, "SLOT_UNAVAILABLE": RACERS - 1}
    with tenant_context(salon):
        winner = Appointment.objects.get(starts_at__lt=berlin(MONDAY, "12:00"))
        moved = winner.pk in {appointment.pk for appointment in afternoon}
        assert Appointment.objects.count() == (10 if moved else 11)
        unchanged = {a.pk: a.starts_at for a in afternoon if a.pk != winner.pk}
        assert dict(Appointment.objects.filter(pk__in=unchanged).values_list("pk", "starts_at")) == unchanged
        assert AppointmentSegment.objects.filter(staff=anna, status="confirmed").count() == Appointment.objects.count()


@pytest.mark.slow
def test_fifty_any_staff_and_named_bookings_of_one_time_on_a_busy_machine_give_each_staff_member_one(
    committed_db, salon, anna, ben, haarschnitt, busy_machine
):
    # given a third hairdresser, and requests for 10:00 half for anyone, half for Anna
    with tenant_context(salon):
        clara = Staff.objects.create(name="Clara Vogel")
        clara.branches.add(Branch.objects.get())
        clara.services.add(haarschnitt)
        add_hours(clara, Branch.objects.get(), range(0, 6), "09:00", "18:00")
        customers = _customers(RACERS)
    attempts = [_book(c, haarschnitt, berlin(MONDAY, "10:00"), anna if n % 2 else None) for n, c in enumerate(customers)]

    # when
    outcomes = _race(salon, attempts)

    # then
    assert outcomes == {"booked": 3, "SLOT_UNAVAILABLE": RACERS - 3}
    with tenant_context(salon):
        assert sorted(Appointment.objects.values_list("staff_id", flat=True)) == sorted([anna.pk, ben.pk, clara.pk])
        assert AppointmentSegment.objects.filter(status="confirmed").count() == 3


# --- a residual deadlock (a lock order the booking does not control) ------------------------


def _wait_until_waiting_for_advisory_lock(pid: int) -> None:
    def waiting() -> bool:
        with connection.cursor() as cursor:  # pg_locks is live even inside a transaction
            cursor.execute("SELECT 1 FROM pg_locks WHERE pid = %s AND locktype = 'advisory' AND NOT granted", [pid])
            return cursor.fetchone() is not None

    wait_for(waiting, timeout=120)


def _deadlock_partner(salon: Tenant, staff: Staff, customer: Customer, booking_pid: list[int],
                      partner_pid: list[int]) -> threading.Thread:
    """Another transaction that holds ``staff``'s calendar lock and then waits for the row the
    booking's caller holds: a deadlock, which PostgreSQL detects in the booking's session (this
    one has a long ``deadlock_timeout``). Cancelled, it gives the calendar back. Its pid in
    ``partner_pid`` says it holds the calendar."""

    def run() -> None:
        try:
            with tenant_context(salon), transaction.atomic():
                lock_staff([staff.pk])
                partner_pid.append(connection.connection.info.backend_pid)
                wait_for(lambda: booking_pid, timeout=120)
                _wait_until_waiting_for_advisory_lock(booking_pid[0])
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL deadlock_timeout = '10min'")
                try:
                    with transaction.atomic():
                        Customer.objects.select_for_update().get(pk=customer.pk)
                except OperationalError:
                    pass  # cancelled: give the calendar back
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _book_holding_the_customer_row(customer: Customer, service: Service, staff: Staff, booking_pid: list[int],
                                   deadlock_timeout: str = "1s") -> str:
    with transaction.atomic():
        Customer.objects.select_for_update().get(pk=customer.pk)
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL deadlock_timeout = '{deadlock_timeout}'")
        booking_pid.append(connection.connection.info.backend_pid)
        try:
            book_appointment(customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk,
                             starts_at=berlin(MONDAY, "10:00"), source="api", actor="api:test", now=NOW)
            return "booked"
        except SlotUnavailable as exc:
            return exc.code


def test_a_booking_that_deadlocks_twice_is_refused_as_slot_unavailable_and_changes_nothing(
    committed_db, salon, anna, haarschnitt
):
    # given a partner that keeps Anna's calendar until the booking's transaction ends
    with tenant_context(salon):
        erika = Customer.objects.create(name="Erika Mustermann")
    booking_pid: list[int] = []
    partner_pid: list[int] = []
    partner = _deadlock_partner(salon, anna, erika, booking_pid, partner_pid)
    wait_for(lambda: partner_pid, timeout=120)

    # when
    with tenant_context(salon):
        outcome = _book_holding_the_customer_row(erika, haarschnitt, anna, booking_pid)
    partner.join(timeout=120)

    # then
    assert outcome == "SLOT_UNAVAILABLE"
    with tenant_context(salon):
        assert Appointment.objects.count() == 0
        assert AppointmentSegment.objects.count() == 0


class _Retried(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying once" in record.getMessage():
            self.seen.set()


def test_a_booking_that_deadlocks_once_is_retried_and_books(committed_db, salon, anna, haarschnitt):
    # given a partner that gives Anna's calendar back once the booking has lost the first deadlock
    with tenant_context(salon):
        erika = Customer.objects.create(name="Erika Mustermann")
    booking_pid: list[int] = []
    partner_pid: list[int] = []
    retried = _Retried()
    logging.getLogger("appointments.locking").addHandler(retried)

    def cancel_partner_after_the_first_deadlock() -> None:
        try:
            if retried.seen.wait(timeout=120):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_cancel_backend(%s)", [partner_pid[0]])
        finally:
            connection.close()

    partner = _deadlock_partner(salon, anna, erika, booking_pid, partner_pid)
    canceller = threading.Thread(target=cancel_partner_after_the_first_deadlock)
    canceller.start()
    wait_for(lambda: partner_pid, timeout=120)

    # when (its deadlock_timeout leaves the canceller time to act before the retry could deadlock again)
    try:
        with tenant_context(salon):
            outcome = _book_holding_the_customer_row(erika, haarschnitt, anna, booking_pid, deadlock_timeout="10s")
    finally:
        logging.getLogger("appointments.locking").removeHandler(retried)
    partner.join(timeout=120)
    canceller.join(timeout=120)

    # then
    assert retried.seen.is_set()
    assert outcome == "booked"
    with tenant_context(salon):
        assert list(Appointment.objects.values_list("customer_id", "staff_id")) == [(erika.pk, anna.pk)]
