"""The caller ID is the identity: a number the caller says never reads or changes the appointments
of the customer it belongs to; it only identifies a caller without caller ID or books for a new one."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from appointments.models import Appointment, Customer
from calls.models import Call
from tests.fixtures.appointments import berlin
from tests.fixtures.calls import function_call

ERIKA = "+4915112345678"
STRANGER = "+4917099988877"


def statuses(tenant) -> list[tuple[str, str]]:
    with tenant_context(tenant):
        return list(Appointment.objects.order_by("id").values_list("customer__phone", "status"))


def test_listing_with_another_customers_number_reads_only_the_callers_own(salon, salon_client, salon_booking,
                                                                          erika_haarschnitt):
    # when: a stranger's phone says Erika's number
    response = function_call(salon_client, "list-appointments", {"phone_number": ERIKA}, from_number=STRANGER)

    # then
    body = response.json()
    assert (body["success"], body["count"], body["appointments"]) == (True, 0, [])
    assert "Haarschnitt" not in body["message"]


def test_cancelling_with_another_customers_number_cancels_nothing(salon, salon_client, salon_booking,
                                                                  erika_haarschnitt):
    response = function_call(salon_client, "cancel-appointment",
                             {"phone_number": ERIKA, "appointment_id": erika_haarschnitt.pk}, from_number=STRANGER)

    body = response.json()
    assert (body["success"], body["error"]["code"]) == (False, "APPOINTMENT_NOT_FOUND")
    assert statuses(salon) == [(ERIKA, "confirmed")]


def test_rescheduling_with_another_customers_number_moves_nothing(salon, salon_client, salon_booking,
                                                                  erika_haarschnitt, next_monday):
    response = function_call(salon_client, "reschedule-appointment",
                             {"phone_number": ERIKA, "date": next_monday.isoformat(), "time": "15:00"},
                             from_number=STRANGER)

    assert response.json()["error"]["code"] == "APPOINTMENT_NOT_FOUND"
    with tenant_context(salon):
        assert Appointment.objects.get().starts_at == berlin(next_monday, "10:00")


def test_check_customer_with_another_customers_number_tells_nothing_about_them(salon, salon_client, salon_booking,
                                                                               erika_haarschnitt):
    response = function_call(salon_client, "check-customer", {"phone_number": ERIKA}, from_number=STRANGER)

    body = response.json()
    assert (body["customer_name"], body["next_appointment"], body["appointment_count"]) == ("", None, 0)
    with tenant_context(salon):
        assert Call.objects.get(call_id="call_1").customer.phone == STRANGER


def test_a_new_caller_may_book_under_the_number_they_give(salon, salon_client, salon_booking, next_monday):
    # given: neither the caller ID nor the given number is a customer yet
    args = {"service": "Haarschnitt", "date": next_monday.isoformat(), "time": "15:00", "name": "Max Muster",
            "phone_number": "0170 5556667"}

    response = function_call(salon_client, "book-appointment", args, from_number=STRANGER)

    assert response.json()["success"] is True
    assert statuses(salon) == [("+491705556667", "confirmed")]


def test_a_known_caller_books_as_themselves_whatever_number_they_say(salon, salon_client, salon_booking,
                                                                     customer_erika, next_monday):
    with tenant_context(salon):
        Customer.objects.create(name="Max Muster", phone=STRANGER)
    args = {"service": "Haarschnitt", "date": next_monday.isoformat(), "time": "15:00", "phone_number": ERIKA}

    response = function_call(salon_client, "book-appointment", args, from_number=STRANGER)

    assert response.json()["success"] is True
    assert statuses(salon) == [(STRANGER, "confirmed")]


def test_without_caller_id_the_stated_number_identifies_the_caller(salon, salon_client, salon_booking,
                                                                   erika_haarschnitt):
    # given: args at the root, no call object, no from_number: nothing but the stated number is known
    response = function_call(salon_client, "list-appointments", {"phone_number": ERIKA}, root=True)

    assert response.json()["count"] == 1


def test_args_at_the_root_use_the_caller_id_the_call_webhooks_recorded(salon, salon_client, salon_booking,
                                                                        erika_haarschnitt):
    with tenant_context(salon):
        Call.objects.create(call_id="call_1", direction="inbound", from_number=STRANGER, to_number="+493012345678")

    response = function_call(salon_client, "list-appointments", {"phone_number": ERIKA}, root=True)

    assert response.json()["count"] == 0
