from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications import services
from notifications.models import NotificationDelivery, NotificationTemplate


@pytest.fixture
def admin_client(in_salon, salon_client):
    user = get_user_model().objects.create_superuser("chef@salon.example", "chef@salon.example", "x" * 12)
    salon_client.force_login(user)
    return salon_client


def _delivery(key, channel, status, **extra):
    return NotificationDelivery.objects.create(dedupe_key=key, event="reminder_24h", channel=channel, recipient="x", status=status, **extra)


def test_the_queue_shows_sent_and_failed_per_channel_retries_and_fallbacks(admin_client):
    sms = _delivery("a", "sms", "failed", attempts=4)
    _delivery("b", "email", "sent", attempts=1, fallback_of=sms)
    _delivery("c", "email", "sent", attempts=2)
    _delivery("d", "sms", "delivered", attempts=1)
    old = _delivery("e", "sms", "failed", attempts=1)
    NotificationDelivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=31))

    response = admin_client.get("/admin/notifications/notificationdelivery/")

    assert response.status_code == 200
    stats = response.context["notification_stats"]
    assert {(c.channel, c.sent, c.failed) for c in stats.channels} == {
        ("email", 2, 0), ("sms", 1, 1), ("whatsapp", 0, 0), ("telegram", 0, 0)}
    assert (stats.retries, stats.fallbacks) == (4, 1)
    assert b"notification-analytics" in response.content


def test_the_queue_filters_by_status_and_channel(admin_client):
    _delivery("a", "sms", "failed")
    _delivery("b", "email", "sent")

    response = admin_client.get("/admin/notifications/notificationdelivery/?status__exact=failed&channel__exact=sms")

    assert [d.dedupe_key for d in response.context["cl"].result_list] == ["a"]


def test_the_retry_and_cancel_actions_call_the_services(admin_client, django_capture_on_commit_callbacks):
    failed = _delivery("a", "email", "failed", body="Hallo")
    pending = _delivery("b", "email", "pending", next_attempt_at=timezone.now() + dt.timedelta(hours=3))

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/notifications/notificationdelivery/", {"action": "retry_selected", "_selected_action": [failed.pk]})
    admin_client.post("/admin/notifications/notificationdelivery/", {"action": "cancel_selected", "_selected_action": [pending.pk]})

    failed.refresh_from_db()
    pending.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 1)
    assert pending.status == "cancelled"


def test_the_template_preview_renders_sample_data_and_shows_injected_tags_literally(admin_client):
    response = admin_client.post("/admin/notifications/notificationtemplate/preview/", {
        "subject": "Termin {{appointment_date}}",
        "body": "Hallo {{customer_name}} {% debug %} {{ secret }}",
        "language": "de",
    })

    assert response.status_code == 200
    assert response.json() == {
        "subject": "Termin Mittwoch, 14. Oktober 2026",
        "body": "Hallo Maria Musterfrau {% debug %} {{ secret }}",
        "unknown": ["secret"],
        "missing": [],
        "problems": ["Unknown placeholders: {{secret}}"],
    }


def test_a_template_edited_in_the_admin_is_used_for_the_next_message(admin_client, notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    response = admin_client.post("/admin/notifications/notificationtemplate/add/", {
        "event": "appointment_confirmed", "channel": "email", "language": "de", "name": "Unsere Bestätigung",
        "subject": "Bis bald, {{customer_name}}", "body": "{{service_name}} am {{appointment_datetime}}", "is_active": "on",
    })
    assert response.status_code == 302
    refused = admin_client.post("/admin/notifications/notificationtemplate/add/", {
        "event": "appointment_confirmed", "channel": "sms", "language": "de", "subject": "", "body": "{{gutschein}}", "is_active": "on",
    })
    assert refused.status_code == 200
    assert NotificationTemplate.objects.count() == 1

    appointment = notif_appointment(notif_cast, dt.datetime(2026, 10, 13, 12, 0, tzinfo=dt.UTC))
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_appointment_event("appointment_confirmed", appointment.pk)

    delivery = NotificationDelivery.objects.get()
    assert (delivery.subject, delivery.body) == ("Bis bald, Maria Müller", "Haarschnitt am Dienstag, 13. Oktober 2026, 14:00 Uhr")
    assert delivery.template_source == f"template:{NotificationTemplate.objects.get().pk}"


@pytest.mark.parametrize("page", ["notificationtemplate", "notificationconfiguration", "customercontactpreference", "notificationsettings"])
def test_every_notifications_admin_page_opens(admin_client, page):
    assert admin_client.get(f"/admin/notifications/{page}/").status_code == 200
    assert admin_client.get(f"/admin/notifications/{page}/add/").status_code in (200, 403)
