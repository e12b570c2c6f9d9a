"""The calendar's JSON endpoints: wall times of the branch, role checks, CSRF, refusals as JSON."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.test import Client

from appointments.models import Appointment, Customer
from tests.conftest import PHYSIO_HOST, SALON_HOST
from tests.fixtures.appointments import berlin

API = "/admin/appointments/appointment/calendar/api/"


def login(role: str, salon, *, client: Client | None = None) -> Client:
    from tenants import services as tenant_services

    email = f"{role}@salon.example"
    tenant_services.create_tenant_user(salon, email=email, role=role, password="x" * 12)
    client = client or Client(HTTP_HOST=SALON_HOST, HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(get_user_model().objects.get(username=email))
    return client


def post(client: Client, path: str, body: dict) -> object:
    return client.post(API + path, data=json.dumps(body), content_type="application/json")


def test_the_feed_has_one_column_per_staff_member_and_times_in_branch_wall_time(
    in_salon, erika_haarschnitt, ben, next_monday,
):
    # given
    client = login("receptionist", in_salon)

    # when
    response = client.get(API + "feed/", {"start": next_monday.isoformat()})

    # then
    assert response.status_code == 200
    data = response.json()
    assert [r["title"] for r in data["resources"]] == ["Anna Becker", "Ben Wagner"]
    appointments = [e for e in data["events"] if e["extendedProps"]["kind"] == "appointment"]
    assert appointments == [{
        "id": str(erika_haarschnitt.pk), "resourceIds": [erika_haarschnitt.staff_id],
        "start": f"{next_monday.isoformat()}T10:00:00", "end": f"{next_monday.isoformat()}T10:30:00",
        "title": "Erika Mustermann", "classNames": ["ap-status-confirmed"], "startEditable": True,
        "durationEditable": False,
        "extendedProps": {"kind": "appointment", "status": "confirmed", "service": "Haarschnitt",
                          "service_id": erika_haarschnitt.service_id, "source": "admin", "version": 1,
                          "phone": "+4915112345678"},
    }]
    hours = sorted((e["resourceIds"], e["start"][11:16], e["end"][11:16]) for e in data["events"]
                   if e["extendedProps"]["kind"] == "hours")
    assert hours == [([erika_haarschnitt.staff_id], "09:00", "12:00"), ([erika_haarschnitt.staff_id], "12:30", "18:00"),
                     ([ben.pk], "10:00", "18:00")]


def test_cancelled_appointments_are_hidden_unless_asked_for(in_salon, erika_haarschnitt, next_monday):
    from appointments import services

    services.cancel_appointment(appointment_id=erika_haarschnitt.pk, source="admin", actor="admin:test")
    client = login("admin", in_salon)

    hidden = client.get(API + "feed/", {"start": next_monday.isoformat()}).json()
    shown = client.get(API + "feed/", {"start": next_monday.isoformat(), "cancelled": "1"}).json()

    assert [e["id"] for e in hidden["events"] if e["extendedProps"]["kind"] == "appointment"] == []
    assert [e["classNames"] for e in shown["events"] if e["extendedProps"]["kind"] == "appointment"] == [
        ["ap-status-cancelled"]]


def test_booking_a_taken_time_is_refused_with_the_next_free_times_and_books_nothing(
    in_salon, erika_haarschnitt, customer_erika, next_monday,
):
    client = login("receptionist", in_salon)
    before = Appointment.objects.count()

    response = post(client, "book/", {
        "branch_id": erika_haarschnitt.branch_id, "staff_id": erika_haarschnitt.staff_id,
        "service_id": erika_haarschnitt.service_id, "customer_id": customer_erika.pk,
        "start": f"{next_monday.isoformat()}T10:15",
    })

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "SLOT_UNAVAILABLE"
    assert error["message"] == "Diese Zeit ist nicht mehr verfügbar."
    assert [a["start"] for a in error["details"]["alternatives"]] == [
        f"{next_monday.isoformat()}T10:30:00", f"{next_monday.isoformat()}T10:45:00",
        f"{next_monday.isoformat()}T11:00:00"]
    assert Appointment.objects.count() == before


def test_booking_with_a_new_phone_number_creates_the_customer_and_one_appointment(in_salon, anna, haarschnitt,
                                                                                   next_monday):
    client = login("receptionist", in_salon)

    response = post(client, "book/", {
        "branch_id": anna.branches.get().pk, "staff_id": anna.pk, "service_id": haarschnitt.pk,
        "name": "Jana Neu", "phone": "0170 / 555 12 34", "start": f"{next_monday.isoformat()}T14:00",
    })

    assert response.status_code == 201, response.content
    customer = Customer.objects.get(phone="+491705551234")
    assert customer.name == "Jana Neu"
    appointment = Appointment.objects.get(customer=customer)
    assert (appointment.staff_id, appointment.starts_at, appointment.source) == (
        anna.pk, berlin(next_monday, "14:00"), "admin")
    assert response.json()["appointment"]["when"].endswith("14:00–14:30")


def test_moving_records_who_moved_it_and_a_refused_move_changes_nothing(in_salon, erika_haarschnitt, customer_erika,
                                                                        next_monday):
    from appointments import services

    client = login("receptionist", in_salon)
    user = get_user_model().objects.get(username="receptionist@salon.example")
    other = services.book_appointment(
        customer_id=customer_erika.pk, service_id=erika_haarschnitt.service_id, staff_id=erika_haarschnitt.staff_id,
        starts_at=berlin(next_monday, "15:00"), source="admin", actor="admin:test")

    moved = post(client, f"appointments/{erika_haarschnitt.pk}/move/", {"start": f"{next_monday}T11:00:00",
                                                                         "version": 1})
    refused = post(client, f"appointments/{erika_haarschnitt.pk}/move/", {"start": f"{next_monday}T15:00:00"})

    assert moved.status_code == 200, moved.content
    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.starts_at == berlin(next_monday, "11:00")
    assert erika_haarschnitt.history.latest().history_user_id == user.pk
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "SLOT_UNAVAILABLE"
    erika_haarschnitt.refresh_from_db()
    other.refresh_from_db()
    assert (erika_haarschnitt.starts_at, erika_haarschnitt.version) == (berlin(next_monday, "11:00"), 2)
    assert other.starts_at == berlin(next_monday, "15:00")


def test_a_staff_member_reads_the_calendar_but_may_not_book_or_move(in_salon, erika_haarschnitt, customer_erika,
                                                                     next_monday):
    client = login("staff", in_salon)

    feed = client.get(API + "feed/", {"start": next_monday.isoformat()})
    page = client.get("/admin/appointments/appointment/calendar/")
    move = post(client, f"appointments/{erika_haarschnitt.pk}/move/", {"start": f"{next_monday}T11:00:00"})
    book = post(client, "book/", {"branch_id": erika_haarschnitt.branch_id, "service_id": erika_haarschnitt.service_id,
                                  "customer_id": customer_erika.pk, "start": f"{next_monday}T14:00"})

    assert feed.status_code == 200
    assert page.status_code == 200
    assert page.context["calendar_config"]["may_book"] is False
    assert (move.status_code, move.json()["error"]["code"]) == (403, "PERMISSION_DENIED")
    assert (book.status_code, book.json()["error"]["message"]) == (403, "Ihre Rolle darf keine Termine ändern.")
    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.starts_at == berlin(next_monday, "10:00")
    assert Appointment.objects.count() == 1


def test_writes_without_the_csrf_token_are_refused_as_json(in_salon, erika_haarschnitt, next_monday):
    client = login("admin", in_salon, client=Client(HTTP_HOST=SALON_HOST, HTTP_ACCEPT_LANGUAGE="de", enforce_csrf_checks=True))

    response = post(client, f"appointments/{erika_haarschnitt.pk}/status/", {"status": "cancelled"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "CSRF_FAILED"
    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.status == "confirmed"


def test_signed_out_and_bad_input_answer_json(in_salon, salon_client, branch_mitte):
    signed_out = salon_client.get(API + "feed/", {"start": "2026-12-07"})
    client = login("admin", in_salon)
    bad_date = client.get(API + "feed/", {"start": "gestern"})
    bad_body = client.post(API + "book/", data="{nope", content_type="application/json")

    assert (signed_out.status_code, signed_out.json()["error"]["code"]) == (401, "AUTHENTICATION_REQUIRED")
    assert (bad_date.status_code, bad_date.json()["error"]["message"]) == (400, "Das Datum ist ungültig.")
    assert (bad_body.status_code, bad_body.json()["error"]["code"]) == (400, "INVALID_BOOKING_REQUEST")


def test_a_salon_login_sees_nothing_of_another_tenant(in_salon, erika_haarschnitt, physio_lena, next_monday):
    client = login("admin", in_salon)

    response = client.get(API + "feed/", {"start": next_monday.isoformat()}, HTTP_HOST=PHYSIO_HOST)

    assert response.status_code == 401


def test_an_illegal_status_step_is_refused_and_a_legal_one_is_saved(in_salon, erika_haarschnitt):
    client = login("receptionist", in_salon)

    refused = post(client, f"appointments/{erika_haarschnitt.pk}/status/", {"status": "completed"})
    started = post(client, f"appointments/{erika_haarschnitt.pk}/status/", {"status": "in_progress", "version": 1})

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "INVALID_TRANSITION"
    assert started.status_code == 200
    assert started.json()["appointment"]["status"] == "in_progress"
    assert [a["status"] for a in started.json()["appointment"]["actions"]] == ["completed"]
    erika_haarschnitt.refresh_from_db()
    assert (erika_haarschnitt.status, erika_haarschnitt.version) == ("in_progress", 2)
