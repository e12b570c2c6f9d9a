from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from appointments.models import Customer
from calls import services
from calls.models import Call, CallbackRequest
from tenants.services import create_tenant_user
from tests.conftest import SALON_HOST
from tests.fixtures.calls import call_object


@pytest.fixture
def salon_admin(salon) -> Client:
    create_tenant_user(salon, email="chef@salon.example", role="admin", password="s3cret-pass!")
    client = Client(HTTP_HOST=SALON_HOST)
    response = client.post("/admin/login/", {"username": "chef@salon.example", "password": "s3cret-pass!"})
    assert response.status_code == 302
    return client


@pytest.fixture
def a_call(salon):
    with tenant_context(salon):
        call = call_object("call_admin")
        services.apply_call_event({"event": "call_ended", "call": {
            **call, "duration_ms": 61000, "end_timestamp": 1767200061000,
            "transcript_object": [{"role": "agent", "content": "Guten Tag!"}, {"role": "user", "content": "Hallo <b>"}],
            "call_cost": {"combined_cost": 7.5}}})
        services.request_callback(phone="+4915112345678", call_id="call_admin", reason="no_slot")
        return Call.objects.get(call_id="call_admin")


def test_the_admin_pages_of_the_voice_domain_render(salon_admin, a_call):
    pages = [
        "/admin/appointments/customer/", f"/admin/appointments/customer/{a_call.customer_id}/change/",
        "/admin/appointments/customernote/", "/admin/appointments/customerjourneytransition/",
        "/admin/calls/call/", f"/admin/calls/call/{a_call.pk}/change/",
        "/admin/calls/callbackrequest/", "/admin/calls/voicesettings/", "/admin/calls/functioncallresult/",
    ]

    assert {page: salon_admin.get(page).status_code for page in pages} == dict.fromkeys(pages, 200)


def test_the_call_page_shows_the_transcript_escaped_and_the_cost(salon_admin, a_call):
    page = salon_admin.get(f"/admin/calls/call/{a_call.pk}/change/").content.decode()

    assert "<strong>Agent:</strong> Guten Tag!" in page
    assert "Hallo &lt;b&gt;" in page
    assert "0,08 USD" in page  # German notation (askpro.display)
    assert "Sichern" not in page and "Save" not in page  # read-only: no save buttons


@pytest.mark.parametrize("term", ["0151 12345678", "+49 151 12345678", "0049151-12345678"])
def test_customers_and_calls_are_found_by_any_phone_notation(salon_admin, a_call, term):
    customers = salon_admin.get("/admin/appointments/customer/", {"q": term})
    calls = salon_admin.get("/admin/calls/call/", {"q": term})

    assert customers.context["cl"].result_count == 1
    assert calls.context["cl"].result_count == 1


def test_marking_a_call_reviewed_records_who_and_when(salon, salon_admin, a_call):
    response = salon_admin.post("/admin/calls/call/", {"action": "mark_reviewed", "_selected_action": [a_call.pk]})

    assert response.status_code == 302
    with tenant_context(salon):
        call = Call.objects.get(pk=a_call.pk)
        assert (call.is_reviewed, call.reviewed_by.username) == (True, "chef@salon.example")
        assert call.reviewed_at is not None


def test_the_journey_dialog_moves_a_customer_by_hand_with_the_reason_recorded(salon, salon_admin, a_call):
    url = f"/admin/appointments/customer/{a_call.customer_id}/journey/"
    refused = salon_admin.post(url, {"_form_submitted": "1", "status": "vip", "reason": ""})
    with tenant_context(salon):
        assert Customer.objects.get(pk=a_call.customer_id).journey_status == "lead"

    salon_admin.post(url, {"_form_submitted": "1", "status": "vip", "reason": "Empfehlung der Inhaberin"})

    assert refused.status_code == 200  # the dialog again, with the error
    with tenant_context(salon):
        customer = Customer.objects.get(pk=a_call.customer_id)
        assert (customer.journey_status, customer.journey_manual) == ("vip", True)
        transition = customer.journey_transitions.order_by("-id").first()
        assert transition.actor.startswith("user:")
        assert transition.reason == "Empfehlung der Inhaberin"


def test_closing_a_callback_in_the_admin(salon, salon_admin, a_call):
    with tenant_context(salon):
        callback = CallbackRequest.objects.get()

    salon_admin.post("/admin/calls/callbackrequest/", {"action": "mark_done", "_selected_action": [callback.pk]})

    with tenant_context(salon):
        assert CallbackRequest.objects.get().status == "done"


def test_a_customer_saved_in_the_admin_gets_e164_numbers(salon, salon_admin):
    response = salon_admin.post("/admin/appointments/customer/add/", {
        "name": "Jana", "phone": "0170 1234567", "other_phones": "030 1234567,+49 30 1234567", "email": "",
        "language": "de", "source": "admin",
        **{f"{prefix}-{k}": v for prefix in ("customer_notes", "appointments", "calls", "journey_transitions") for k, v in
           (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))},
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(salon):
        assert list(Customer.objects.values_list("phone", "other_phones")) == [("+491701234567", ["+49301234567"])]


def test_the_admin_refuses_a_new_customer_with_a_number_another_customer_already_has(salon, salon_admin):
    # given
    with tenant_context(salon):
        maria = Customer.objects.create(name="Maria", phone="+4915112345678", other_phones=["+493099887766"])

    # when
    response = salon_admin.post("/admin/appointments/customer/add/", {
        "name": "Jana", "phone": "030 99887766", "other_phones": "", "email": "",
        "language": "de", "source": "admin",
        **{f"{prefix}-{k}": v for prefix in ("customer_notes", "appointments", "calls", "journey_transitions") for k, v in
           (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))},
    }, HTTP_ACCEPT_LANGUAGE="de")

    # then
    assert response.status_code == 200
    assert "+493099887766 gehört bereits zu Maria." in response.content.decode()
    with tenant_context(salon):
        assert list(Customer.objects.values_list("pk", flat=True)) == [maria.pk]


def test_an_appointment_is_created_from_a_call_through_the_booking_service(salon_admin, a_call, salon,
                                                                          salon_booking, next_monday):
    from appointments.models import Appointment
    from tests.fixtures.appointments import berlin

    url = f"/admin/calls/call/{a_call.pk}/create-appointment/"
    form = {"_form_submitted": "1", "service": salon_booking["haarschnitt"].pk, "starts_at": f"{next_monday.isoformat()} 11:00",
            "staff": salon_booking["ben"].pk}

    page = salon_admin.get(url)
    response = salon_admin.post(url, form)
    taken = salon_admin.post(url, form, follow=True)

    assert (page.status_code, response.status_code) == (200, 302)
    with tenant_context(salon):
        appointment = Appointment.objects.get()
        assert (appointment.customer_id, appointment.staff.name, appointment.starts_at, appointment.source) == (
            a_call.customer_id, "Ben Wagner", berlin(next_monday, "11:00"), "phone")
        call = Call.objects.get(pk=a_call.pk)
        assert (call.appointment_id, call.appointment_made) == (appointment.pk, True)
        assert Appointment.objects.count() == 1
    assert "This time is no longer available." in taken.content.decode()


def test_the_call_page_plays_the_recording_when_there_is_one(salon, salon_admin, a_call):
    with tenant_context(salon):
        Call.objects.filter(pk=a_call.pk).update(recording_url="https://recordings.example/call_admin.wav")

    page = salon_admin.get(f"/admin/calls/call/{a_call.pk}/change/").content.decode()

    assert '<audio controls preload="none" src="https://recordings.example/call_admin.wav"></audio>' in page


def test_linking_a_call_to_another_customer(salon, salon_admin, a_call):
    with tenant_context(salon):
        other = Customer.objects.create(name="Max Meier", phone="+4917612345678")

    response = salon_admin.post(f"/admin/calls/call/{a_call.pk}/link-customer/",
                                {"_form_submitted": "1", "customer": other.pk})

    assert response.status_code == 302
    with tenant_context(salon):
        assert Call.objects.get(pk=a_call.pk).customer_id == other.pk
