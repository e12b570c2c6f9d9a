from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages

from appointments.models import Appointment, PolicyConfiguration
from tenants import services as tenant_services
from tests.fixtures.appointments import berlin


@pytest.fixture
def admin_client(salon, salon_client, in_salon):
    tenant_services.create_tenant_user(salon, email="chefin@salon.example", role="admin", password="s3cret-pass!")
    salon_client.force_login(get_user_model().objects.get(username="chefin@salon.example"))
    return salon_client


@pytest.mark.parametrize("model", [
    "branch", "staff", "service", "customer", "policyconfiguration", "appointment", "recurringseries",
    "appointmentmodification", "availabilityoverride", "apikey",
])
def test_every_booking_admin_page_opens(admin_client, erika_haarschnitt, model):
    changelist = admin_client.get(f"/admin/appointments/{model}/")

    assert changelist.status_code == 200


def test_the_appointment_page_shows_segments_history_and_actions(admin_client, erika_haarschnitt):
    response = admin_client.get(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/change/")
    history = admin_client.get(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/history/")

    assert response.status_code == 200
    assert b"/cancel/" in response.content
    assert b"/reschedule/" in response.content
    assert history.status_code == 200


def test_booking_in_the_admin_goes_through_the_service(admin_client, anna, haarschnitt, customer_erika, next_monday):
    response = admin_client.post("/admin/appointments/appointment/add/", {
        "customer": customer_erika.pk, "service": haarschnitt.pk, "staff": "", "branch": "",
        "starts_at_0": next_monday.isoformat(), "starts_at_1": "11:00", "status": "confirmed", "notes": "",
    })

    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert (appointment.staff_id, appointment.source, appointment.starts_at) == (
        anna.pk, "admin", berlin(next_monday, "11:00"))
    assert appointment.segments.count() == 1
    assert appointment.history.first().history_user.username == "chefin@salon.example"


def test_booking_a_taken_time_in_the_admin_shows_alternatives_and_books_nothing(admin_client, erika_haarschnitt,
                                                                                next_monday):
    response = admin_client.post("/admin/appointments/appointment/add/", {
        "customer": erika_haarschnitt.customer_id, "service": erika_haarschnitt.service_id,
        "staff": erika_haarschnitt.staff_id, "branch": "",
        "starts_at_0": next_monday.isoformat(), "starts_at_1": "10:00", "status": "confirmed", "notes": "",
    })

    assert response.status_code == 302
    text = [str(m) for m in get_messages(response.wsgi_request)]
    assert "10:30" in text[0]
    assert Appointment.objects.count() == 1


def test_cancelling_in_the_admin_applies_the_policy(admin_client, erika_haarschnitt):
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24 * 365,
                                       violation_action="charge_fee", fee_cents=2000)

    response = admin_client.post(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/cancel/",
                                 {"_form_submitted": "1", "reason": "Kundin krank"})

    assert response.status_code == 302
    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.status == "cancelled"
    modification = erika_haarschnitt.modifications.get()
    assert (modification.fee_cents, modification.reason, modification.actor) == (
        2000, "Kundin krank", f"admin:{response.wsgi_request.user.pk}")


def test_rescheduling_in_the_admin_onto_a_break_is_refused(admin_client, erika_haarschnitt, next_monday):
    response = admin_client.post(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/reschedule/", {
        "new_starts_at": f"{next_monday.isoformat()} 12:00", "reason": "Kundin fragt"})

    # the form again (no script: the dialog as a page), with the refusal and what was typed
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="dialog-error"' in page and 'data-testid="dialog-error" role="alert" hidden' not in page
    assert 'value="Kundin fragt"' in page
    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.starts_at == berlin(next_monday, "10:00")


def test_the_confirm_action_moves_pending_appointments(admin_client, erika_haarschnitt):
    Appointment.objects.filter(pk=erika_haarschnitt.pk).update(status="pending")

    admin_client.post("/admin/appointments/appointment/", {
        "action": "confirm", "_selected_action": [erika_haarschnitt.pk]})

    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.status == "confirmed"


def test_creating_an_api_key_in_the_admin_shows_it_once(admin_client):
    response = admin_client.post("/admin/appointments/apikey/add/", {"name": "Website"}, follow=True)

    text = " ".join(str(m) for m in response.context["messages"])
    assert "ak_" in text


def test_the_admin_sets_a_branchs_public_holidays_and_bookings_follow(admin_client, branch_mitte, anna, haarschnitt,
                                                                     customer_erika):
    from datetime import date

    from appointments.errors import SlotUnavailable
    from appointments.services import book_appointment

    page = admin_client.get(f"/admin/appointments/branch/{branch_mitte.pk}/change/", HTTP_ACCEPT_LANGUAGE="de")
    assert b'name="holiday_region"' in page.content
    assert b"Bayern" in page.content

    response = admin_client.post(f"/admin/appointments/branch/{branch_mitte.pk}/change/", {
        "name": "Mitte", "street": "Torstraße 1", "postal_code": "10119", "city": "Berlin", "phone": "+493012345678",
        "email": "", "time_zone": "Europe/Berlin", "holiday_region": "BY", "is_active": "on",
        "overrides-TOTAL_FORMS": "0", "overrides-INITIAL_FORMS": "0", "overrides-MIN_NUM_FORMS": "0",
        "overrides-MAX_NUM_FORMS": "1000",
    })

    assert response.status_code == 302, response.content[:2000]
    branch_mitte.refresh_from_db()
    assert branch_mitte.holiday_region == "BY"
    with pytest.raises(SlotUnavailable):  # Epiphany, a holiday in Bavaria
        book_appointment(customer_id=customer_erika.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                         starts_at=berlin(date(2027, 1, 6), "10:00"), source="admin", actor="admin:7",
                         now=berlin(date(2026, 12, 1), "08:00"))


def test_send_reminder_now_queues_one_reminder_and_skips_a_repeat(admin_client, erika_haarschnitt):
    from notifications.models import NotificationDelivery

    data = {"action": "send_reminder", "_selected_action": [erika_haarschnitt.pk]}
    first = admin_client.post("/admin/appointments/appointment/", data, headers={"Accept-Language": "de"})
    admin_client.get("/admin/appointments/appointment/")  # shows (and so consumes) the first message
    again = admin_client.post("/admin/appointments/appointment/", data, headers={"Accept-Language": "de"})

    assert [str(m) for m in get_messages(first.wsgi_request)] == ["1 Erinnerung(en) eingereiht."]
    assert [str(m) for m in get_messages(again.wsgi_request)] == [
        "1 Termin(e) übersprungen: vergangen, storniert oder schon erinnert."]
    assert NotificationDelivery.objects.filter(appointment=erika_haarschnitt, event="reminder_24h").count() == 1
