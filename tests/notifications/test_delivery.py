from __future__ import annotations

import datetime as dt
import threading

import httpx
import respx
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from notifications import services
from notifications.models import (
    CustomerContactPreference,
    NotificationConfiguration,
    NotificationDelivery,
)

TWILIO_URL = "https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json"
SOON = dt.timedelta(days=3)


def _run_due(delivery):
    """Let the retry time pass, then run the delivery task's body."""
    NotificationDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    before = timezone.now()
    services.deliver(delivery.pk)
    delivery.refresh_from_db()
    return before


@respx.mock
def test_a_failing_sms_is_retried_after_1_5_and_15_minutes_then_falls_back_to_email(notif_cast, notif_appointment, live_providers, no_quiet_hours, django_capture_on_commit_callbacks):
    # given Maria prefers SMS, email is the fallback, and Twilio is down
    twilio = respx.post(TWILIO_URL).mock(return_value=httpx.Response(503, json={"message": "Service Unavailable"}))
    CustomerContactPreference.objects.create(customer=notif_cast.maria, preferred_channel="sms")
    NotificationConfiguration.objects.create(scope="company", event="appointment_confirmed", fallback_channel="email")
    appointment = notif_appointment(notif_cast, timezone.now() + SOON)

    # when the confirmation is created (first attempt right after commit)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_appointment_event("appointment_confirmed", appointment.pk)
    sms = NotificationDelivery.objects.get(channel="sms")

    # then it waits 1, 5, 15 minutes between attempts
    for expected_minutes in (1, 5, 15):
        assert (sms.status, sms.error) == ("pending", "Twilio HTTP 503: Service Unavailable")
        waited = sms.next_attempt_at - before
        assert dt.timedelta(minutes=expected_minutes) <= waited < dt.timedelta(minutes=expected_minutes, seconds=5)
        with django_capture_on_commit_callbacks(execute=True):
            before = _run_due(sms)

    # and after the last retry it fails and the fallback email goes out
    assert (sms.status, sms.attempts) == ("failed", 4)
    assert sms.failed_at is not None
    assert twilio.call_count == 4
    fallback = NotificationDelivery.objects.get(fallback_of=sms)
    assert (fallback.channel, fallback.recipient, fallback.status, fallback.attempts) == ("email", "maria@example.com", "sent", 1)
    assert [m.to for m in mail.outbox] == [["maria@example.com"]]
    assert mail.outbox[0].subject == "Terminbestätigung: Haarschnitt am " + fallback.subject.split(" am ")[1]


@respx.mock
def test_a_permanent_failure_skips_the_retries_and_a_failed_fallback_ends_failed_with_the_reason(notif_cast, notif_appointment, live_providers, no_quiet_hours, django_capture_on_commit_callbacks):
    # given an invalid number and a Telegram fallback the bot cannot reach
    respx.post(TWILIO_URL).mock(return_value=httpx.Response(400, json={"code": 21211, "message": "Invalid 'To' Phone Number"}))
    telegram = respx.post("https://api.telegram.org/bot123456:platform-bot/sendMessage").mock(
        return_value=httpx.Response(400, json={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}))
    CustomerContactPreference.objects.create(customer=notif_cast.maria, preferred_channel="sms", telegram_chat_id="999")
    NotificationConfiguration.objects.create(scope="company", event="appointment_confirmed", fallback_channel="telegram")
    appointment = notif_appointment(notif_cast, timezone.now() + SOON)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_appointment_event("appointment_confirmed", appointment.pk)

    # then
    sms = NotificationDelivery.objects.get(channel="sms")
    assert (sms.status, sms.attempts, sms.error) == ("failed", 1, "Twilio error 21211: Invalid 'To' Phone Number")
    fallback = NotificationDelivery.objects.get(fallback_of=sms)
    assert (fallback.channel, fallback.status, fallback.attempts) == ("telegram", "failed", 1)
    assert fallback.error == "Telegram error 400: Bad Request: chat not found"
    assert telegram.call_count == 1
    assert NotificationDelivery.objects.count() == 2  # a fallback has no fallback of its own


@respx.mock
def test_a_recipient_unsubscribed_at_twilio_is_marked_opted_out(notif_cast, notif_appointment, live_providers, no_quiet_hours, django_capture_on_commit_callbacks):
    respx.post(TWILIO_URL).mock(return_value=httpx.Response(400, json={"code": 21610, "message": "unsubscribed recipient"}))
    CustomerContactPreference.objects.create(customer=notif_cast.maria, preferred_channel="sms")
    appointment = notif_appointment(notif_cast, timezone.now() + SOON)

    with django_capture_on_commit_callbacks(execute=True):
        services.notify_appointment_event("appointment_confirmed", appointment.pk)

    maria = notif_cast.maria
    maria.refresh_from_db()
    assert (maria.sms_opt_out, maria.sms_opt_out_at is not None) == (True, True)


@respx.mock
def test_a_delivery_task_that_runs_twice_sends_once(notif_cast, notif_appointment, live_providers, no_quiet_hours, django_capture_on_commit_callbacks):
    twilio = respx.post(TWILIO_URL).mock(return_value=httpx.Response(201, json={"sid": "SM1", "status": "queued"}))
    CustomerContactPreference.objects.create(customer=notif_cast.maria, preferred_channel="sms")
    appointment = notif_appointment(notif_cast, timezone.now() + SOON)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_appointment_event("appointment_confirmed", appointment.pk)
    sms = NotificationDelivery.objects.get()

    # when the task runs again (a redelivered message, a manual re-run)
    services.deliver(sms.pk)
    services.deliver(sms.pk)

    # then
    sms.refresh_from_db()
    assert (sms.status, sms.attempts, sms.provider_message_id, twilio.call_count) == ("sent", 1, "SM1", 1)


def test_two_workers_delivering_the_same_message_at_once_send_it_once(salon_cast_committed, notif_appointment, live_providers):
    # given a pending SMS (committed) and a slow provider
    cast = salon_cast_committed
    appointment = notif_appointment(cast, timezone.now() + SOON)
    delivery = NotificationDelivery.objects.create(
        dedupe_key="test|race", event="appointment_confirmed", channel="sms", recipient="+4915112345678",
        customer=cast.maria, appointment=appointment, appointment_starts_at=appointment.starts_at,
        body="Hallo", next_attempt_at=timezone.now(),
    )
    calls = []
    results = []
    progress = threading.Condition()

    def slow_twilio(request):
        # Twilio answers only once the other worker has returned (or has called Twilio too): the
        # second delivery attempt always meets the first one in the middle of sending.
        with progress:
            calls.append(request)
            progress.notify_all()
            if not progress.wait_for(lambda: results or len(calls) > 1, timeout=60):
                raise AssertionError("the other worker neither returned nor called Twilio within 60 s")
        return httpx.Response(201, json={"sid": f"SM{len(calls)}", "status": "queued"})

    barrier = threading.Barrier(2)

    def worker():
        try:
            with tenant_context(cast.tenant):
                barrier.wait(timeout=60)
                status = services.deliver(delivery.pk).status
            with progress:
                results.append(status)
                progress.notify_all()
        finally:
            connection.close()

    # when
    with respx.mock:
        respx.post(TWILIO_URL).mock(side_effect=slow_twilio)
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    # then
    assert not any(thread.is_alive() for thread in threads)
    delivery.refresh_from_db()
    assert len(calls) == 1
    assert (delivery.status, delivery.attempts, delivery.provider_message_id) == ("sent", 1, "SM1")
    assert sorted(results) == ["sending", "sent"]


def test_an_operator_can_cancel_a_pending_message_and_send_a_failed_one_again(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    appointment = notif_appointment(notif_cast, timezone.now() + SOON)
    delivery = services.notify_appointment_event("reminder_24h", appointment.pk)[0]
    NotificationDelivery.objects.filter(pk=delivery.pk).update(status="pending", next_attempt_at=timezone.now() + dt.timedelta(hours=1))

    services.cancel_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("cancelled", None)

    with django_capture_on_commit_callbacks(execute=True):
        services.retry_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_a_sent_message_cannot_be_retried_or_cancelled_and_stays_unchanged(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    import pytest

    from notifications.errors import DeliveryNotCancellable, DeliveryNotRetryable

    appointment = notif_appointment(notif_cast, timezone.now() + SOON)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_appointment_event("appointment_confirmed", appointment.pk)
    delivery = NotificationDelivery.objects.get()

    with pytest.raises(DeliveryNotRetryable):
        services.retry_delivery(delivery.pk)
    with pytest.raises(DeliveryNotCancellable):
        services.cancel_delivery(delivery.pk)

    fresh = NotificationDelivery.objects.get()
    assert (fresh.status, fresh.attempts, fresh.sent_at) == ("sent", 1, delivery.sent_at)
