from __future__ import annotations

import datetime as dt
import threading

from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from notifications import services
from notifications.models import NotificationDelivery, NotificationSettings

LONG_AGO = timezone.now() - dt.timedelta(days=7)


def test_an_appointment_in_23_hours_gets_its_24h_reminder_once_however_often_the_task_runs(notif_cast, notif_appointment, no_quiet_hours, django_capture_on_commit_callbacks):
    # given
    appointment = notif_appointment(notif_cast, timezone.now() + dt.timedelta(hours=23), created_at=LONG_AGO)

    # when the periodic task runs twice
    with django_capture_on_commit_callbacks(execute=True):
        first = services.queue_due_reminders()
    with django_capture_on_commit_callbacks(execute=True):
        second = services.queue_due_reminders()

    # then
    assert (first, second) == (1, 0)
    reminder = NotificationDelivery.objects.get()
    assert (reminder.event, reminder.channel, reminder.recipient, reminder.status, reminder.attempts) == (
        "reminder_24h", "sms", "+4915112345678", "sent", 1)
    assert reminder.appointment_starts_at == appointment.starts_at


def test_the_2h_reminder_replaces_the_24h_one_close_to_the_start(notif_cast, notif_appointment, no_quiet_hours):
    notif_appointment(notif_cast, timezone.now() + dt.timedelta(minutes=90), created_at=LONG_AGO)

    assert services.queue_due_reminders() == 1
    assert list(NotificationDelivery.objects.values_list("event", flat=True)) == ["reminder_2h"]


def test_cancelled_appointments_and_bookings_made_inside_the_window_get_no_reminder(notif_cast, notif_appointment, no_quiet_hours):
    notif_appointment(notif_cast, timezone.now() + dt.timedelta(hours=20), status="cancelled", created_at=LONG_AGO)
    notif_appointment(notif_cast, timezone.now() + dt.timedelta(hours=20))  # booked just now
    notif_appointment(notif_cast, timezone.now() + dt.timedelta(hours=30), created_at=LONG_AGO)  # not due yet

    assert services.queue_due_reminders() == 0
    assert NotificationDelivery.objects.count() == 0


def test_a_rescheduled_appointment_gets_a_fresh_reminder_and_the_old_one_is_dropped(notif_cast, notif_appointment, no_quiet_hours):
    # given a reminder for 20 h ahead waiting (not yet sent)
    appointment = notif_appointment(notif_cast, timezone.now() + dt.timedelta(hours=20), created_at=LONG_AGO)
    services.queue_due_reminders()
    old = NotificationDelivery.objects.get()
    NotificationDelivery.objects.filter(pk=old.pk).update(status="pending", attempts=0, next_attempt_at=timezone.now())

    # when the appointment moves by an hour and the task runs again
    appointment.starts_at += dt.timedelta(hours=1)
    appointment.ends_at += dt.timedelta(hours=1)
    appointment.save()
    created = services.queue_due_reminders()
    services.deliver(old.pk)

    # then
    old.refresh_from_db()
    assert created == 1
    assert (old.status, old.skip_reason) == ("skipped", "appointment_changed")
    fresh = NotificationDelivery.objects.exclude(pk=old.pk).get()
    assert (fresh.event, fresh.appointment_starts_at) == ("reminder_24h", appointment.starts_at)


def test_an_sms_reminder_created_in_quiet_hours_waits_until_they_end(notif_cast, notif_appointment):
    # given quiet hours 21:00-08:00 in Berlin and 23:30 local time now
    NotificationSettings.objects.update_or_create(pk=1, defaults={"quiet_hours_enabled": True})
    now = dt.datetime(2026, 10, 12, 21, 30, tzinfo=dt.UTC)  # 23:30 CEST
    appointment = notif_appointment(notif_cast, now + dt.timedelta(hours=20), created_at=now - dt.timedelta(days=7))

    # when
    services.queue_due_reminders(now=now)

    # then it is held until 08:00 local
    reminder = NotificationDelivery.objects.get()
    assert (reminder.status, reminder.next_attempt_at) == ("pending", dt.datetime(2026, 10, 13, 6, 0, tzinfo=dt.UTC))
    assert services.dispatch_due(now=dt.datetime(2026, 10, 13, 5, 59, tzinfo=dt.UTC)) == 0
    assert services.dispatch_due(now=dt.datetime(2026, 10, 13, 6, 0, tzinfo=dt.UTC)) == 1
    assert appointment.pk == reminder.appointment_id


def test_an_urgent_2h_reminder_is_not_held_by_quiet_hours(notif_cast, notif_appointment):
    NotificationSettings.objects.update_or_create(pk=1, defaults={"quiet_hours_enabled": True})
    now = dt.datetime(2026, 10, 13, 4, 30, tzinfo=dt.UTC)  # 06:30 CEST
    notif_appointment(notif_cast, now + dt.timedelta(minutes=100), created_at=now - dt.timedelta(days=7))

    services.queue_due_reminders(now=now)

    reminder = NotificationDelivery.objects.get()
    assert (reminder.event, reminder.next_attempt_at) == ("reminder_2h", now)


def test_overlapping_reminder_runs_queue_each_reminder_exactly_once(salon_cast_committed, notif_appointment):
    # given ten appointments due for their 24 h reminder (committed, visible to other connections)
    cast = salon_cast_committed
    NotificationSettings.objects.update_or_create(pk=1, defaults={"quiet_hours_enabled": False})
    for hours in range(3, 13):
        notif_appointment(cast, timezone.now() + dt.timedelta(hours=hours), created_at=LONG_AGO)
    barrier = threading.Barrier(3)
    created = []

    def run():
        try:
            with tenant_context(cast.tenant):
                barrier.wait()
                created.append(services.queue_due_reminders())
        finally:
            connection.close()

    # when three periodic runs overlap
    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then
    assert sum(created) == 10
    reminders = NotificationDelivery.objects.filter(event="reminder_24h")
    assert reminders.count() == 10
    assert sorted(set(reminders.values_list("status", "attempts"))) == [("sent", 1)]
