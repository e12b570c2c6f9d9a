from __future__ import annotations

from django.utils import timezone
from django_tenants.utils import tenant_context

from notifications.models import CustomerContactPreference, NotificationDelivery
from notifications.twilio_signature import compute_signature, is_valid_signature

STATUS_URL = "http://salon-schmidt.localhost/webhooks/twilio/status"
INBOUND_URL = "http://salon-schmidt.localhost/webhooks/twilio/inbound"


PLATFORM_TOKEN = "platform-auth-token"


def _signed_post(client, url, data, token=PLATFORM_TOKEN):
    signature = compute_signature(token, url, list(data.items()))
    return client.post(url.split("localhost", 1)[1], data, HTTP_X_TWILIO_SIGNATURE=signature)


def _sent_sms(cast, sid="SM123"):
    return NotificationDelivery.objects.create(
        dedupe_key=f"test|{sid}", event="reminder_24h", channel="sms", recipient=cast.maria.phone, customer=cast.maria,
        body="Erinnerung", status="sent", attempts=1, provider_message_id=sid, sent_at=timezone.now(),
    )


def test_the_signature_matches_twilios_documented_example():
    # the fixture Twilio's own helper library signs in its test suite
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = [("To", "+18005551212"), ("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"), ("From", "+14158675309")]

    assert compute_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert is_valid_signature("12345", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not is_valid_signature("12345", url, params + [("Extra", "1")], "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_a_signed_status_callback_marks_the_sms_delivered(notif_cast, salon_client, live_providers):
    sms = _sent_sms(notif_cast)

    response = _signed_post(salon_client, STATUS_URL, {"MessageSid": "SM123", "MessageStatus": "delivered", "AccountSid": "AC1"})

    assert response.status_code == 204
    sms.refresh_from_db()
    assert (sms.status, sms.provider_status) == ("delivered", "delivered")


def test_an_undelivered_callback_fails_the_message_with_the_reason(notif_cast, salon_client, live_providers):
    sms = _sent_sms(notif_cast)

    _signed_post(salon_client, STATUS_URL, {"MessageSid": "SM123", "MessageStatus": "undelivered", "ErrorCode": "30003"})

    sms.refresh_from_db()
    assert (sms.status, sms.error) == ("failed", "Twilio reported undelivered (error 30003)")


def test_a_callback_with_a_wrong_signature_is_refused_and_changes_nothing(notif_cast, salon_client, live_providers):
    sms = _sent_sms(notif_cast)

    forged = _signed_post(salon_client, STATUS_URL, {"MessageSid": "SM123", "MessageStatus": "failed"}, token="guessed")
    unsigned = salon_client.post("/webhooks/twilio/status", {"MessageSid": "SM123", "MessageStatus": "failed"})

    assert (forged.status_code, unsigned.status_code) == (403, 403)
    assert forged.json()["error"]["code"] == "INVALID_SIGNATURE"
    sms.refresh_from_db()
    assert (sms.status, sms.provider_status) == ("sent", "")


def test_a_stop_reply_opts_the_customer_out_and_later_sms_are_skipped(notif_cast, notif_appointment, salon_client, live_providers, no_quiet_hours):
    # when Maria replies STOP
    response = _signed_post(salon_client, INBOUND_URL, {"From": "+4915112345678", "To": "+4930555000", "Body": "Stop"})

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    maria = notif_cast.maria
    maria.refresh_from_db()
    assert (maria.sms_opt_out, maria.sms_opt_out_at is not None) == (True, True)
    from notifications import services

    appointment = notif_appointment(notif_cast, timezone.now() + timezone.timedelta(hours=20))
    reminder = services.notify_appointment_event("reminder_24h", appointment.pk)[0]
    assert (reminder.status, reminder.skip_reason) == ("skipped", "opted_out")

    # and START opts her back in
    _signed_post(salon_client, INBOUND_URL, {"From": "+4915112345678", "To": "+4930555000", "Body": "START"})
    maria.refresh_from_db()
    assert maria.sms_opt_out is False


def test_a_stop_reply_to_one_tenant_does_not_touch_another_tenants_customers(notif_cast, salon, salon_client, physio, live_providers):
    from appointments.models import Customer

    with tenant_context(physio):
        physio_customer = Customer.objects.create(name="Maria Müller", phone="+4915112345678")

    _signed_post(salon_client, INBOUND_URL, {"From": "+4915112345678", "To": "+4930555000", "Body": "STOP"})

    with tenant_context(physio):
        physio_customer.refresh_from_db()
        assert physio_customer.sms_opt_out is False
        assert not CustomerContactPreference.objects.filter(customer=physio_customer).exists()
    with tenant_context(salon):
        assert Customer.objects.get(pk=notif_cast.maria.pk).sms_opt_out is True


def test_a_stop_to_the_platform_number_opts_out_in_tenants_using_that_number(salon, physio, public_client, live_providers):
    from appointments.models import Customer

    with tenant_context(salon):
        salon_maria = Customer.objects.create(name="Maria", phone="+4915112345678")
    with tenant_context(physio):
        physio_maria = Customer.objects.create(name="Maria", phone="+4915112345678")

    response = _signed_post(public_client, "http://localhost/webhooks/twilio/inbound",
                            {"From": "+4915112345678", "To": "+4930555000", "Body": "STOP"})

    assert response.status_code == 200
    with tenant_context(salon):
        assert Customer.objects.get(pk=salon_maria.pk).sms_opt_out is True
    with tenant_context(physio):
        assert Customer.objects.get(pk=physio_maria.pk).sms_opt_out is True
