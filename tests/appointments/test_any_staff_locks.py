"""An "any staff" booking locks only the calendars of the slot it writes.

Each test holds bookings open in real second transactions (own threads and connections) and
watches ``pg_locks`` to know whether the "any staff" booking waits and which calendars it holds;
no timing assertions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, transaction
from django_tenants.utils import tenant_context

from appointments.errors import SlotUnavailable
from appointments.models import Appointment, Customer, Service, Staff
from appointments.services import book_appointment
from askpro.locks import advisory_key
from tenants.models import Tenant
from tests.appointments.conftest import MONDAY, NOW
from tests.conftest import wait_for
from tests.fixtures.appointments import berlin

CAP = 120  # seconds: a bound for readiness, never an expectation of speed


def _advisory_locks(pid: int) -> tuple[set[int], set[int]]:
    """(granted, awaited) advisory lock keys of backend ``pid``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (classid::bigint << 32) | objid::bigint, granted FROM pg_locks"
            " WHERE pid = %s AND locktype = 'advisory' AND objsubid = 1",
            [pid],
        )
        rows = cursor.fetchall()
    return {key for key, granted in rows if granted}, {key for key, granted in rows if not granted}


def _waits_for_any_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
        return cursor.fetchone() is not None


def _calendar_key(salon: Tenant, staff: Staff) -> int:
    return advisory_key(f"staff:{staff.pk}", schema=salon.schema_name)


@contextmanager
def _open_booking(salon: Tenant, customer: Customer, service: Service, staff: Staff, starts_at: datetime) -> Iterator[
    Callable[[], list[str]]
]:
    """Book ``staff`` at ``starts_at`` in another connection and keep that transaction open until
    the caller calls the yielded function (or leaves the block); it commits and returns its outcome."""
    holding, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def run() -> None:
        try:
            with tenant_context(salon), transaction.atomic():
                book_appointment(customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk,
                                 starts_at=starts_at, source="api", actor="api:test", now=NOW)
                holding.set()
                release.wait(timeout=600)
            outcome.append("committed")
        except Exception as exc:  # a crash must show up as a failure, not vanish with the thread
            outcome.append(f"error: {type(exc).__name__}: {exc}")
        finally:
            holding.set()
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()

    def commit() -> list[str]:
        release.set()
        thread.join(timeout=CAP)
        return outcome

    try:
        assert holding.wait(timeout=CAP) and not outcome, outcome
        yield commit
    finally:
        commit()


class _AnyStaffBooking:
    """``book_appointment`` with whoever is free, in its own thread and connection."""

    def __init__(self, salon: Tenant, customer: Customer, service: Service, starts_at: datetime) -> None:
        self.done = threading.Event()
        self.pid: list[int] = []
        self.outcome: list[object] = []

        def run() -> None:
            try:
                with tenant_context(salon):
                    connection.ensure_connection()
                    self.pid.append(connection.connection.info.backend_pid)
                    try:
                        appointment = book_appointment(customer_id=customer.pk, service_id=service.pk,
                                                       starts_at=starts_at, source="api", actor="api:test", now=NOW)
                        self.outcome.append(appointment.staff_id)
                    except SlotUnavailable as exc:
                        self.outcome.append((exc.code, len(exc.details["alternatives"])))
            except Exception as exc:  # a crash must show up as a failure, not vanish with the thread
                self.outcome.append(f"error: {type(exc).__name__}: {exc}")
            finally:
                connection.close()
                self.done.set()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        wait_for(lambda: self.pid or self.done.is_set(), timeout=CAP, what="the booking's connection")

    def join(self) -> None:
        self.thread.join(timeout=CAP)


def test_an_any_staff_booking_goes_to_a_free_colleague_without_waiting_for_an_open_booking_of_another(
    committed_db, salon, anna, ben, haarschnitt
):
    # given a booking of Anna at 10:00 whose transaction stays open
    with tenant_context(salon):
        erika, max_ = Customer.objects.create(name="Erika Mustermann"), Customer.objects.create(name="Max Muster")
    with _open_booking(salon, erika, haarschnitt, anna, berlin(MONDAY, "10:00")) as commit_annas_booking:
        # when someone wants 10:00 with whoever is free
        booking = _AnyStaffBooking(salon, max_, haarschnitt, berlin(MONDAY, "10:00"))
        wait_for(lambda: booking.done.is_set() or _waits_for_any_lock(booking.pid[0]), timeout=CAP,
                 what="the 'any staff' booking to finish or to wait")

        # then it has booked Ben while Anna's booking is still open, without waiting for it
        assert booking.done.is_set(), "the 'any staff' booking waits for Anna's open booking"
        assert booking.outcome == [ben.pk]
        assert commit_annas_booking() == ["committed"]
    booking.join()
    with tenant_context(salon):
        assert sorted(Appointment.objects.values_list("staff_id", flat=True)) == sorted([anna.pk, ben.pk])


def test_an_any_staff_booking_that_moves_on_gives_the_calendar_it_left_back_and_never_waits_holding_one(
    committed_db, salon, anna, ben, haarschnitt
):
    # given Anna and Ben booked at 10:00 in two open transactions; the one whose calendar key is
    # the smaller ("first") is the "any staff" booking's first choice (the other has more work that day)
    first, second = sorted([anna, ben], key=lambda staff: _calendar_key(salon, staff))
    with tenant_context(salon):
        erika, max_, lena = (Customer.objects.create(name=name) for name in ("Erika", "Max", "Lena"))
        book_appointment(customer_id=lena.pk, service_id=haarschnitt.pk, staff_id=second.pk,
                         starts_at=berlin(MONDAY, "15:00"), source="api", actor="api:test", now=NOW)
    with (
        _open_booking(salon, erika, haarschnitt, first, berlin(MONDAY, "10:00")) as commit_first,
        _open_booking(salon, max_, haarschnitt, second, berlin(MONDAY, "10:00")) as commit_second,
    ):
        # when someone wants 10:00 with whoever is free: both calendars are being written
        booking = _AnyStaffBooking(salon, lena, haarschnitt, berlin(MONDAY, "10:00"))
        pid = booking.pid[0]
        wait_for(lambda: _calendar_key(salon, first) in _advisory_locks(pid)[1], timeout=CAP,
                 what="the 'any staff' booking to queue for its first choice")
        assert _advisory_locks(pid)[0] == set()
        # ... the first choice's booking commits: the slot is gone, the booking moves on to the second
        assert commit_first() == ["committed"]
        wait_for(lambda: booking.done.is_set() or _calendar_key(salon, second) in _advisory_locks(pid)[1],
                 timeout=CAP, what="the 'any staff' booking to queue for the second calendar")

        # then it waits for the second calendar without holding the first one (nor any other)
        assert not booking.done.is_set(), booking.outcome
        assert _advisory_locks(pid)[0] == set()
        assert commit_second() == ["committed"]
    booking.join()

    # and, both taken, it is refused with alternatives and changes nothing
    [(code, alternatives)] = booking.outcome  # type: ignore[misc]
    assert code == "SLOT_UNAVAILABLE"
    assert alternatives > 0
    with tenant_context(salon):
        assert Appointment.objects.filter(starts_at=berlin(MONDAY, "10:00")).count() == 2
        assert Appointment.objects.count() == 3
