from __future__ import annotations

import threading
from collections import Counter

from django.db import connection
from django_tenants.utils import tenant_context

from appointments.errors import SlotUnavailable
from appointments.models import Appointment, AppointmentSegment, Branch, Customer, Service, Staff
from appointments.services import book_appointment
from tenants.models import Tenant
from tests.appointments.conftest import MONDAY, NOW
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
