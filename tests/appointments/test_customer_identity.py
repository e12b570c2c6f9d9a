"""One customer identity for every way in: the booking API, the voice agent, the admin and the
Cal.com pull find and create customers through ``appointments.customers``."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import tenant_context

from appointments import customers
from appointments.models import Appointment, Customer
from tests.conftest import SALON_HOST, wait_for
from tests.fixtures.appointments import berlin

NOTATIONS = ["0151 12345678", "+49 151 12345678", "0049 151 12345678", "+49 (0)151 12345678", "0151/123 456 78"]


def _book_by_api(raw_key: str, phone: str, starts_at: str, service_id: int, staff_id: int) -> int:
    response = Client(HTTP_HOST=SALON_HOST).post(
        "/api/v2/bookings",
        data=json.dumps({"customer": {"name": "Max Mustermann", "phone": phone}, "service_id": service_id,
                         "staff_id": staff_id, "starts_at": starts_at, "source": "api"}),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw_key}",
    )
    return response.status_code


def test_first_contacts_by_api_and_phone_at_once_with_one_number_in_five_notations_make_one_customer(
    committed_db, salon, api_key, anna, haarschnitt, next_monday
):
    # given ten first contacts at the same moment: five bookings through the API, five calls
    barrier = threading.Barrier(10)
    outcomes: list[object] = []
    lock = threading.Lock()

    def by_api(n: int) -> None:
        try:
            barrier.wait(timeout=60)
            starts_at = (berlin(next_monday, "13:00") + timedelta(minutes=30 * n)).isoformat()
            outcome: object = _book_by_api(api_key[1], NOTATIONS[n], starts_at, haarschnitt.pk, anna.pk)
        except Exception as exc:
            outcome = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    def by_phone(n: int) -> None:
        try:
            with tenant_context(salon):
                barrier.wait(timeout=60)
                customers.get_or_create_caller(NOTATIONS[n], actor=f"phone:call_{n}")
                outcome: object = "called"
        except Exception as exc:
            outcome = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=by_api, args=(n,)) for n in range(5)]
    threads += [threading.Thread(target=by_phone, args=(n,)) for n in range(5)]

    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    # then
    assert sorted(map(str, outcomes)) == ["201"] * 5 + ["called"] * 5
    with tenant_context(salon):
        assert list(Customer.objects.values_list("phone", flat=True)) == ["+4915112345678"]
        customer = Customer.objects.get()
        assert set(Appointment.objects.values_list("customer_id", flat=True)) == {customer.pk}
        assert Appointment.objects.count() == 5


def _someone_waits_for_an_advisory_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return cursor.fetchone() is not None


def test_a_booking_by_api_while_a_first_call_from_the_number_is_still_open_finds_the_callers_customer(
    committed_db, salon, api_key, anna, haarschnitt, next_monday
):
    # given a first call from the number whose transaction has created the lead but not committed yet
    created, release = threading.Event(), threading.Event()
    api_status: list[object] = []

    def first_call() -> None:
        try:
            with tenant_context(salon), transaction.atomic():
                customers.get_or_create_caller("+49 151 12345678", actor="phone:call_1")
                created.set()
                release.wait(timeout=120)
        finally:
            connection.close()

    def api_booking() -> None:
        try:
            api_status.append(
                _book_by_api(api_key[1], "0151 12345678", berlin(next_monday, "15:00").isoformat(), haarschnitt.pk,
                             anna.pk)
            )
        except Exception as exc:
            api_status.append(f"error: {exc!r}")
        finally:
            connection.close()

    caller = threading.Thread(target=first_call)
    caller.start()
    assert created.wait(timeout=120)

    # when the API books for the same number in another notation meanwhile
    booking = threading.Thread(target=api_booking)
    booking.start()
    wait_for(lambda: api_status or _someone_waits_for_an_advisory_lock(), timeout=120)
    release.set()
    caller.join(timeout=120)
    booking.join(timeout=120)

    # then
    assert api_status == [201]
    with tenant_context(salon):
        assert list(Customer.objects.values_list("phone", flat=True)) == ["+4915112345678"]
        assert Appointment.objects.get().customer_id == Customer.objects.get().pk


def test_a_booking_by_api_with_a_customers_other_number_books_for_that_customer(
    salon_client, api_key, anna, haarschnitt, next_monday
):
    # given
    maria = Customer.objects.create(name="Maria Schulz", phone="+4915112345678", other_phones=["+493099887766"])

    # when
    status = _book_by_api(api_key[1], "030 99887766", berlin(next_monday, "15:00").isoformat(), haarschnitt.pk,
                          anna.pk)

    # then
    assert status == 201
    assert list(Customer.objects.values_list("pk", flat=True)) == [maria.pk]
    assert Appointment.objects.get().customer_id == maria.pk


def test_a_booking_by_api_fills_a_known_customers_empty_email_and_keeps_the_name(
    salon_client, api_key, anna, haarschnitt, next_monday
):
    # given
    maria = Customer.objects.create(name="Maria Schulz", phone="+4915112345678")

    # when
    response = salon_client.post(
        "/api/v2/bookings",
        data=json.dumps({"customer": {"name": "M. Schulz", "phone": "0151 12345678", "email": "maria@example.com"},
                         "service_id": haarschnitt.pk, "staff_id": anna.pk,
                         "starts_at": berlin(next_monday, "15:00").isoformat(), "source": "api"}),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}",
    )

    # then
    assert response.status_code == 201
    maria.refresh_from_db()
    assert (maria.name, maria.email, Customer.objects.count()) == ("Maria Schulz", "maria@example.com", 1)


def test_a_booking_by_api_with_an_implausible_number_is_refused_with_the_identity_services_code(
    salon_client, api_key, anna, haarschnitt, next_monday
):
    # when
    response = salon_client.post(
        "/api/v2/bookings",
        data=json.dumps({"customer": {"name": "Hans", "phone": "12"}, "service_id": haarschnitt.pk,
                         "staff_id": anna.pk, "starts_at": berlin(next_monday, "15:00").isoformat(), "source": "api"}),
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}",
    )

    # then
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PHONE_INVALID"
    assert (Customer.objects.count(), Appointment.objects.count()) == (0, 0)
