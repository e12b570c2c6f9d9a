from __future__ import annotations

import datetime as dt

from django.core import mail
from icalendar import Calendar

from appointments.customers import set_consent
from appointments.events import AppointmentBooked, AppointmentCancelled, AppointmentRescheduled
from askpro import hooks
from notifications import services
from notifications.models import (
    CustomerContactPreference,
    NotificationConfiguration,
    NotificationDelivery,
)

TUESDAY_14H = dt.datetime(2026, 10, 13, 12, 0, tzinfo=dt.UTC)  # 14:00 in Berlin


def _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = notif_appointment(notif_cast, TUESDAY_14H, **kwargs)
        hooks.emit(AppointmentBooked(appointment_id=appointment.pk, source="phone", actor="voice-agent"))
    return appointment


def test_a_phone_booking_sends_one_confirmation_in_german_with_the_date_written_out(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    # when
    appointment = _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)

    # then
    delivery = NotificationDelivery.objects.get()
    assert (delivery.event, delivery.channel, delivery.recipient, delivery.language) == (
        "appointment_confirmed", "email", "maria@example.com", "de")
    assert delivery.status == "sent"
    assert delivery.backend == "outbox"
    assert delivery.provider_message_id.startswith("outbox-")
    assert delivery.appointment_id == appointment.pk
    assert delivery.subject == "Terminbestätigung: Haarschnitt am Dienstag, 13. Oktober 2026"
    assert delivery.body == (
        "Guten Tag Maria Müller,\n\nIhr Termin ist bestätigt:\n\n"
        "Haarschnitt bei Anna\nDienstag, 13. Oktober 2026, 14:00 Uhr\n"
        "Mitte, Torstraße 1, 10119 Berlin\n\n"
        "Falls Sie den Termin nicht wahrnehmen können, sagen Sie bitte rechtzeitig ab: +49301234567\n\n"
        "Wir freuen uns auf Sie!\nSalon Schmidt"
    )
    assert delivery.attempts == 1


def test_an_english_customer_gets_the_english_confirmation(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks, customer=notif_cast.john)

    delivery = NotificationDelivery.objects.get()
    assert delivery.language == "en"
    assert delivery.subject == "Appointment confirmed: Haarschnitt on Tuesday, 13 October 2026"
    assert "Tuesday, 13 October 2026 at 14:00" in delivery.body


def test_the_live_email_carries_a_calendar_file_for_the_appointment(notif_cast, notif_appointment, django_capture_on_commit_callbacks, live_providers):
    appointment = _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["maria@example.com"]
    assert email.subject == "Terminbestätigung: Haarschnitt am Dienstag, 13. Oktober 2026"
    (filename, content, mimetype), = email.attachments
    assert (filename, mimetype) == ("termin.ics", "text/calendar")
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert str(event["uid"]) == f"appointment-{appointment.pk}@salon-schmidt.localhost"
    assert event.decoded("dtstart") == TUESDAY_14H
    assert event.decoded("dtend") == TUESDAY_14H + dt.timedelta(minutes=30)
    assert str(event["location"]) == "Mitte, Torstraße 1, 10119 Berlin"
    assert NotificationDelivery.objects.get().status == "sent"


def test_the_same_booking_event_twice_creates_one_confirmation(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    appointment = _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        hooks.emit(AppointmentBooked(appointment_id=appointment.pk, source="phone", actor="voice-agent"))
    again = services.notify_appointment_event("appointment_confirmed", appointment.pk)

    assert again == []
    assert NotificationDelivery.objects.count() == 1


def test_a_reschedule_tells_the_new_and_the_old_time_and_each_move_gets_its_own_message(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    # given a booking
    appointment = _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)

    # when it moves by a day, twice
    for days in (1, 2):
        previous = appointment.starts_at
        appointment.starts_at = TUESDAY_14H + dt.timedelta(days=days)
        appointment.ends_at = appointment.starts_at + dt.timedelta(minutes=30)
        with django_capture_on_commit_callbacks(execute=True):
            appointment.save()
            hooks.emit(AppointmentRescheduled(appointment_id=appointment.pk, source="admin", actor="empfang",
                                              previous_starts_at=previous))

    # then
    moves = list(NotificationDelivery.objects.filter(event="appointment_rescheduled").order_by("pk"))
    assert [m.status for m in moves] == ["sent", "sent"]
    assert moves[0].subject == "Termin verschoben: Haarschnitt am Mittwoch, 14. Oktober 2026"
    assert "Neu: Mittwoch, 14. Oktober 2026, 14:00 Uhr\nBisher: Dienstag, 13. Oktober 2026, 14:00 Uhr" in moves[0].body
    assert "Neu: Donnerstag, 15. Oktober 2026, 14:00 Uhr\nBisher: Mittwoch, 14. Oktober 2026, 14:00 Uhr" in moves[1].body


def test_a_cancellation_sends_a_cancellation_and_a_queued_reminder_is_not_sent(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    # given a booking with a reminder waiting in quiet hours (pending)
    appointment = _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)
    reminder = services.notify_appointment_event("reminder_24h", appointment.pk)[0]
    NotificationDelivery.objects.filter(pk=reminder.pk).update(status="pending", next_attempt_at=TUESDAY_14H - dt.timedelta(days=400))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        appointment.status = "cancelled"
        appointment.save()
        hooks.emit(AppointmentCancelled(appointment_id=appointment.pk, source="phone", actor="voice-agent",
                                        previous_status="confirmed"))
    services.deliver(reminder.pk)

    # then
    cancellation = NotificationDelivery.objects.get(event="appointment_cancelled")
    assert cancellation.status == "sent"
    assert cancellation.subject == "Termin abgesagt: Haarschnitt am Dienstag, 13. Oktober 2026"
    reminder.refresh_from_db()
    assert (reminder.status, reminder.skip_reason, reminder.attempts) == ("skipped", "appointment_changed", 0)


def test_a_customer_without_an_address_for_the_channel_is_skipped_with_the_reason(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    notif_cast.maria.email = ""
    notif_cast.maria.save()

    _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)

    delivery = NotificationDelivery.objects.get()
    assert (delivery.status, delivery.skip_reason, delivery.recipient, delivery.attempts) == ("skipped", "no_address", "", 0)


def test_a_customer_without_an_email_gets_the_confirmation_on_the_fallback_channel(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    # given a caller without email, and SMS as the confirmation's fallback channel
    notif_cast.maria.email = ""
    notif_cast.maria.save()
    NotificationConfiguration.objects.update_or_create(
        scope="company", event="appointment_confirmed", defaults={"channel": "email", "fallback_channel": "sms"}
    )

    _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)

    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.recipient, delivery.skip_reason) == ("sms", notif_cast.maria.phone, "")
    assert delivery.status in ("pending", "sent")


def test_an_sms_opt_out_is_honoured(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    CustomerContactPreference.objects.create(customer=notif_cast.maria, preferred_channel="sms")
    set_consent(notif_cast.maria.pk, sms_opt_out=True)

    _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)

    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.status, delivery.skip_reason) == ("sms", "skipped", "opted_out")


def test_a_marketing_message_without_consent_is_skipped(notif_cast, notif_appointment):
    from notifications import events

    # given a marketing event (registered like the built-in ones)
    original = events.get_event("reminder_2h")
    events.register_event(events.EventType(
        "reminder_2h", "x", "x", "email", requires_customer=True, can_be_disabled=True, marketing=True))
    try:
        appointment = notif_appointment(notif_cast, TUESDAY_14H)
        services.notify_appointment_event("reminder_2h", appointment.pk)
        services.set_contact_preference(notif_cast.john.pk, marketing_consent=True)
        johns = notif_appointment(notif_cast, TUESDAY_14H + dt.timedelta(hours=2), customer=notif_cast.john)
        services.notify_appointment_event("reminder_2h", johns.pk)
    finally:
        events.register_event(original)

    maria, john = NotificationDelivery.objects.order_by("pk")
    assert (maria.status, maria.skip_reason) == ("skipped", "no_consent")
    assert john.status in ("pending", "sent")
    notif_cast.john.refresh_from_db()
    assert (notif_cast.john.marketing_consent, notif_cast.john.marketing_consent_at is not None) == (True, True)


def test_a_caller_who_told_the_voice_agent_no_sms_gets_no_sms(notif_cast, notif_appointment,
                                                             django_capture_on_commit_callbacks):
    # given the opt-out recorded on the customer (as the voice agent and the admin do), no preference row
    CustomerContactPreference.objects.filter(customer=notif_cast.maria).delete()
    set_consent(notif_cast.maria.pk, sms_opt_out=True)
    NotificationConfiguration.objects.create(scope="company", event="appointment_confirmed", channel="sms")

    # when
    _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)

    # then
    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.status, delivery.skip_reason) == ("sms", "skipped", "opted_out")


def test_a_disabled_optional_event_is_skipped_but_a_mandatory_one_cannot_be_disabled(notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    NotificationConfiguration.objects.create(scope="company", event="reminder_24h", enabled=False)
    NotificationConfiguration.objects.create(scope="company", event="appointment_confirmed", enabled=False)  # bypassing clean()

    appointment = _book(notif_appointment, notif_cast, django_capture_on_commit_callbacks)
    services.notify_appointment_event("reminder_24h", appointment.pk)

    assert NotificationDelivery.objects.get(event="appointment_confirmed").status == "sent"
    reminder = NotificationDelivery.objects.get(event="reminder_24h")
    assert (reminder.status, reminder.skip_reason) == ("skipped", "disabled")
