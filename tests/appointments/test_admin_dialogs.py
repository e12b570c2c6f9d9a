"""The one admin dialog (askpro/admin_dialogs.py) as its script talks to it, and the bulk and
customer actions built on the services. The browser side is tests/browser/test_dialogs.py."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django_tenants.utils import tenant_context

from appointments.models import Appointment, Customer, CustomerNote, PolicyConfiguration
from appointments.services import book_appointment
from notifications.models import NotificationDelivery
from tenants import services as tenant_services
from tests.fixtures.appointments import berlin

DIALOG = {"HTTP_X_ASKPRO_DIALOG": "1"}


@pytest.fixture
def admin_client(salon, salon_client, in_salon):
    tenant_services.create_tenant_user(salon, email="chefin@salon.example", role="admin", password="s3cret-pass!")
    salon_client.force_login(get_user_model().objects.get(username="chefin@salon.example"))
    salon_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    return salon_client


@pytest.fixture
def ben_at_eleven(erika_haarschnitt, customer_erika, haarschnitt, anna, branch_mitte, next_monday):
    other = Customer.objects.create(name="Bernd Brot", phone="+4915199999999")
    return book_appointment(customer_id=other.pk, service_id=haarschnitt.pk, staff_id=anna.pk,
                            branch_id=branch_mitte.pk, starts_at=berlin(next_monday, "11:00"), source="admin",
                            actor="admin:test")


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_reschedule_onto_a_taken_slot_answers_the_refusal_with_clickable_times(
    admin_client, erika_haarschnitt, ben_at_eleven, next_monday,
):
    # given: 11:00 at Anna's is taken by another customer
    url = f"/admin/appointments/appointment/{erika_haarschnitt.pk}/reschedule/"

    # when: the dialog posts the move there
    response = admin_client.post(url, {"new_starts_at": f"{next_monday.isoformat()}T11:00", "reason": "Wunsch"},
                                 **DIALOG)

    # then: a JSON refusal in German with free times as input values, and nothing moved
    body = response.json()
    assert response.status_code == 409
    assert (body["ok"], body["code"]) == (False, "SLOT_UNAVAILABLE")
    assert body["message"] and "slot" not in body["message"].lower()
    assert body["alternatives"], body
    first = body["alternatives"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", first["value"])
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", first["label"])
    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.starts_at == berlin(next_monday, "10:00")

    # and when: the first alternative is sent
    moved = admin_client.post(url, {"new_starts_at": first["value"], "reason": "Wunsch"}, **DIALOG)

    # then: ok, the page to reload, and a message with the new local time
    assert moved.status_code == 200
    assert moved.json() == {"ok": True, "redirect": f"/admin/appointments/appointment/{erika_haarschnitt.pk}/change/"}
    erika_haarschnitt.refresh_from_db()
    shown = first["label"].replace(" ", ", ")
    assert any(f"Verschoben auf {shown}" in text for text in _messages(moved)), _messages(moved)


def test_the_dialog_script_gets_only_the_form_and_a_page_gets_the_whole_admin(admin_client, erika_haarschnitt):
    url = f"/admin/appointments/appointment/{erika_haarschnitt.pk}/reschedule/"

    partial = admin_client.get(url, **DIALOG).content.decode()
    page = admin_client.get(url).content.decode()

    assert partial.lstrip().startswith("<div") and "<html" not in partial
    assert 'name="new_starts_at"' in partial and 'type="datetime-local"' in partial
    assert 'value="' + f"{erika_haarschnitt.starts_at.astimezone(berlin(erika_haarschnitt.starts_at.date(), '00:00').tzinfo):%Y-%m-%dT%H:%M}" + '"' in partial
    assert "<html" in page and 'data-testid="askpro-dialog"' in page


def test_the_cancel_dialog_tells_the_fee_in_euros_before_anything_is_cancelled(admin_client, erika_haarschnitt):
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24 * 365,
                                       violation_action="charge_fee", fee_cents=2000)

    html = admin_client.get(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/cancel/", **DIALOG).content.decode()

    notice = re.search(r'data-testid="dialog-notice">([^<]*)<', html).group(1)
    assert "20,00\xa0€" in notice or "20,00 €" in notice
    assert "Stornogebühr" in notice
    assert len(re.findall(r'type="submit"', html)) == 1
    assert ">Termin stornieren<" in html and "Schließen" in html
    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.status == "confirmed"


def test_the_cancel_dialog_says_too_late_and_cannot_be_confirmed_when_the_policy_blocks(admin_client, erika_haarschnitt):
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24 * 365, violation_action="block")
    url = f"/admin/appointments/appointment/{erika_haarschnitt.pk}/cancel/"

    html = admin_client.get(url, **DIALOG).content.decode()
    refused = admin_client.post(url, {"reason": "Kundin krank"}, **DIALOG)

    assert "Zu spät" in re.search(r'data-testid="dialog-notice">([^<]*)<', html).group(1)
    assert re.search(r'data-testid="dialog-submit"\s+disabled', html)
    assert (refused.status_code, refused.json()["ok"], refused.json()["code"]) == (422, False, "POLICY_VIOLATION")
    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.status == "confirmed"


def test_a_dialog_with_a_missing_field_names_the_field_and_keeps_the_rest(admin_client, erika_haarschnitt):
    response = admin_client.post(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/cancel/", {"reason": ""},
                                 **DIALOG)

    body = response.json()
    assert (response.status_code, body["ok"], body["code"]) == (400, False, "VALIDATION_ERROR")
    assert list(body["errors"]) == ["reason"]


def test_bulk_cancel_applies_each_policy_and_counts_cancelled_refused_and_fees(
    admin_client, erika_haarschnitt, ben_at_eleven,
):
    # given: a fee of 20 € for late cancellations, and a third appointment already completed
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24 * 365,
                                       violation_action="charge_fee", fee_cents=2000)
    done = Appointment.objects.create(
        customer=erika_haarschnitt.customer, service=erika_haarschnitt.service, staff=erika_haarschnitt.staff,
        branch=erika_haarschnitt.branch, starts_at=berlin(erika_haarschnitt.starts_at.date(), "15:00"),
        ends_at=berlin(erika_haarschnitt.starts_at.date(), "15:30"), status="completed", source="admin")

    # when
    response = admin_client.post("/admin/appointments/appointment/", {
        "action": "cancel_selected", "_selected_action": [erika_haarschnitt.pk, ben_at_eleven.pk, done.pk]})

    # then: two cancelled with fees, one refused with the reason
    texts = _messages(response)
    assert response.status_code == 302
    assert "2 Termin(e) storniert." in texts[0] and "Davon 2 mit Stornogebühr, zusammen 40,00" in texts[0]
    assert texts[1].startswith("1 Termin(e) abgelehnt:") and "storniert werden" in texts[1]
    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert (statuses[erika_haarschnitt.pk], statuses[ben_at_eleven.pk], statuses[done.pk]) == (
        "cancelled", "cancelled", "completed")


def test_bulk_no_show_before_the_start_is_refused_honestly(admin_client, erika_haarschnitt):
    response = admin_client.post("/admin/appointments/appointment/", {
        "action": "mark_no_show", "_selected_action": [erika_haarschnitt.pk]})

    texts = _messages(response)
    assert len(texts) == 1 and texts[0].startswith("1 Termin(e) abgelehnt:")
    erika_haarschnitt.refresh_from_db()
    assert erika_haarschnitt.status == "confirmed"


def test_book_appointment_opens_the_booking_form_for_the_customer(admin_client, customer_erika):
    response = admin_client.get(f"/admin/appointments/customer/{customer_erika.pk}/book/")

    assert response.status_code == 302
    assert response["Location"] == f"/admin/appointments/appointment/add/?customer={customer_erika.pk}"
    form = admin_client.get(response["Location"]).content.decode()
    assert f'value="{customer_erika.pk}" selected' in form


def test_an_sms_to_a_customer_without_consent_is_refused_and_nothing_is_stored(admin_client, customer_erika):
    response = admin_client.post(f"/admin/appointments/customer/{customer_erika.pk}/message/",
                                 {"channel": "sms", "text": "Wir haben neue Öffnungszeiten."}, **DIALOG)

    body = response.json()
    assert (response.status_code, body["ok"], body["code"]) == (409, False, "NO_CONSENT")
    assert "zugestimmt" in body["message"]
    assert NotificationDelivery.objects.count() == 0


def test_an_sms_to_a_customer_who_opted_out_is_refused(admin_client, customer_erika):
    Customer.objects.filter(pk=customer_erika.pk).update(marketing_consent=True, sms_opt_out=True)

    body = admin_client.post(f"/admin/appointments/customer/{customer_erika.pk}/message/",
                             {"channel": "sms", "text": "Hallo"}, **DIALOG).json()

    assert body["code"] == "OPTED_OUT"
    assert NotificationDelivery.objects.count() == 0


def test_an_email_to_a_consenting_customer_is_recorded_as_a_delivery(admin_client, customer_erika):
    Customer.objects.filter(pk=customer_erika.pk).update(marketing_consent=True)

    response = admin_client.post(f"/admin/appointments/customer/{customer_erika.pk}/message/",
                                 {"channel": "email", "text": "Ihre Bestellung ist da."}, **DIALOG)

    assert response.json()["ok"] is True
    delivery = NotificationDelivery.objects.get()
    assert (delivery.event, delivery.channel, delivery.recipient, delivery.customer_id) == (
        "customer_message", "email", "erika@example.com", customer_erika.pk)
    assert "Ihre Bestellung ist da." in delivery.body
    assert delivery.status in ("pending", "sending", "sent")
    assert any("erika@example.com" in text for text in _messages(response))


def test_add_note_dialog_adds_a_note_by_the_user(admin_client, customer_erika):
    response = admin_client.post(f"/admin/appointments/customer/{customer_erika.pk}/note/",
                                 {"subject": "Allergie", "content": "Verträgt kein Ammoniak."}, **DIALOG)

    assert response.json()["ok"] is True
    note = CustomerNote.objects.get()
    assert (note.customer_id, note.subject, note.content, note.created_by.username) == (
        customer_erika.pk, "Allergie", "Verträgt kein Ammoniak.", "chefin@salon.example")


def test_the_message_dialog_cannot_reach_another_tenants_customer(admin_client, physio):
    # given: a customer of Physio Nord with an id the salon does not have
    with tenant_context(physio):
        Customer.objects.create(pk=987654, name="Max Meier", phone="+4917612345678", marketing_consent=True)

    # when: the salon's admin posts a message to that id
    response = admin_client.post("/admin/appointments/customer/987654/message/", {"channel": "sms", "text": "x"},
                                 **DIALOG)

    # then: not found in the salon, nothing stored in either schema
    assert (response.status_code, response.json()["code"]) == (404, "CUSTOMER_NOT_FOUND")
    assert NotificationDelivery.objects.count() == 0
    with tenant_context(physio):
        assert NotificationDelivery.objects.count() == 0


def test_a_rule_over_several_fields_is_the_dialogs_message(admin_client, salon_account):
    from billing.models import Topup

    response = admin_client.post("/admin/billing/billingaccount/topup/", {"amount": "custom", "custom_euros": ""},
                                 **DIALOG)

    body = response.json()
    assert (response.status_code, body["code"], body["message"]) == (400, "VALIDATION_ERROR", "Geben Sie einen Betrag ein.")
    assert Topup.objects.count() == 0


def test_the_note_dialog_refuses_a_medical_note_from_a_role_that_may_not_read_one(
    salon, salon_client, in_salon, customer_erika,
):
    # given a receptionist (medical notes are not for the front desk)
    tenant_services.create_tenant_user(salon, email="empfang@notes.example", role="receptionist",
                                       password="s3cret-pass!")
    salon_client.force_login(get_user_model().objects.get(username="empfang@notes.example"))

    # when they try to write one by posting the type the form does not offer them
    response = salon_client.post(f"/admin/appointments/customer/{customer_erika.pk}/note/",
                                 {"content": "Allergie gegen Ammoniak", "type": "medical", "visibility": "all"},
                                 **DIALOG)

    # then it is refused inside the dialog and nothing is stored
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert not CustomerNote.objects.filter(customer=customer_erika).exists()
