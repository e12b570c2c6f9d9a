"""Default notification templates are visible and editable in the tenant admin: the list shows the
built-in text until the tenant saves its own copy; reset deletes the copy again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django_tenants.utils import tenant_context

from notifications import events as ev
from notifications import services
from notifications.defaults import default_template
from notifications.models import NotificationDelivery, NotificationTemplate
from notifications.placeholders import template_problems
from tests.conftest import PHYSIO_HOST, SALON_HOST

LIST = "/admin/notifications/notificationtemplate/"
ADD = "/admin/notifications/notificationtemplate/add/"


def _owner(tenant, host: str) -> Client:
    from tenants import services as tenant_services

    email = f"owner@{tenant.slug}.example"
    tenant_services.create_tenant_user(tenant, email=email, role="admin", password="s3cret-pass!")
    client = Client(HTTP_HOST=host, HTTP_ACCEPT_LANGUAGE="de")
    with tenant_context(tenant):
        client.force_login(get_user_model().objects.get(username=email))
    return client


@pytest.fixture
def owner(salon) -> Client:
    return _owner(salon, SALON_HOST)


def _confirmation(subject: str, body: str) -> dict[str, str]:
    return {"event": "appointment_confirmed", "channel": "email", "language": "de", "name": "",
            "subject": subject, "body": body, "is_active": "on"}


def test_a_fresh_tenant_sees_every_default_text(owner, salon):
    response = owner.get(LIST)

    assert response.status_code == 200
    rows = [entry["row"] for entry in response.context["entries"]]
    assert len(rows) == len(ev.EVENTS) * 4 * 2
    assert not any(row.customised for row in rows)
    confirmation = next(r for r in rows if (r.event, r.channel, r.language) == ("appointment_confirmed", "email", "de"))
    assert confirmation.subject == "Terminbestätigung: {{service_name}} am {{appointment_date}}"
    page = response.content.decode()
    assert "Terminbestätigung: {{service_name}} am {{appointment_date}}" in page
    assert "Standard" in page and "Angepasst" not in page
    assert f"{ADD}?event=appointment_confirmed&amp;channel=email&amp;language=de" in page


def test_opening_a_default_prefills_its_text(owner):
    response = owner.get(f"{ADD}?event=reminder_24h&channel=sms&language=de")

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.initial["body"] == default_template("reminder_24h", "sms", "de").body


def test_the_first_edit_creates_one_copy_and_the_next_notification_uses_it(
    owner, salon, notif_cast, notif_appointment, django_capture_on_commit_callbacks,
):
    # given: the owner saves the prefilled default with a change
    response = owner.post(ADD, _confirmation("Bis bald, {{customer_name}}", "{{service_name}} am {{appointment_datetime}}"))
    assert response.status_code == 302
    # opening the default again opens the copy, and a second add for the same key is refused
    again = owner.get(f"{ADD}?event=appointment_confirmed&channel=email&language=de")
    copy = NotificationTemplate.objects.get()
    assert again.status_code == 302 and again["Location"].endswith(f"/{copy.pk}/change/")
    refused = owner.post(ADD, _confirmation("Zweite Kopie", "{{service_name}}"))
    assert refused.status_code == 200
    assert "hat bereits einen eigenen Text" in refused.content.decode()
    assert NotificationTemplate.objects.count() == 1

    # when: the notification service sends the next confirmation
    appointment = notif_appointment(notif_cast, dt.datetime(2026, 10, 13, 12, 0, tzinfo=dt.UTC))
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_appointment_event("appointment_confirmed", appointment.pk)

    # then
    delivery = NotificationDelivery.objects.get()
    assert (delivery.subject, delivery.body) == ("Bis bald, Maria Müller", "Haarschnitt am Dienstag, 13. Oktober 2026, 14:00 Uhr")
    assert delivery.template_source == f"template:{copy.pk}"
    listed = owner.get(LIST).context["entries"]
    assert [e["row"].own.pk for e in listed if e["row"].customised] == [copy.pk]


def test_reset_returns_to_the_default_text(owner, in_salon, notif_cast, notif_appointment, django_capture_on_commit_callbacks):
    owner.post(ADD, _confirmation("Eigener Betreff", "Eigener Text {{service_name}}"))
    copy = NotificationTemplate.objects.get()

    response = owner.post(f"/admin/notifications/notificationtemplate/{copy.pk}/reset/", {})

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)][-1] == (
        "Terminbestätigung · E-Mail · Deutsch verwendet wieder den Standardtext.")
    assert NotificationTemplate.objects.count() == 0
    appointment = notif_appointment(notif_cast, dt.datetime(2026, 10, 13, 12, 0, tzinfo=dt.UTC))
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_appointment_event("appointment_confirmed", appointment.pk)
    delivery = NotificationDelivery.objects.get()
    assert delivery.template_source == "default"
    assert delivery.subject == "Terminbestätigung: Haarschnitt am Dienstag, 13. Oktober 2026"


@pytest.mark.parametrize(("body", "message"), [
    ("Hallo {{gutschein_code}}", "Unbekannte Platzhalter: {{gutschein_code}}"),
    ("Rechnung {{invoice_number}} für {{customer_name}}", "Für dieses Ereignis gibt es keinen Wert für: {{invoice_number}}"),
])
def test_a_placeholder_the_renderer_cannot_fill_is_refused_in_german(owner, in_salon, body, message):
    response = owner.post(ADD, _confirmation("Termin", body))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert NotificationTemplate.objects.count() == 0


def test_the_preview_renders_sample_data_with_german_dates_and_euros_and_names_problems(owner):
    response = owner.post("/admin/notifications/notificationtemplate/preview/", {
        "event": "appointment_confirmed", "language": "de", "subject": "{{appointment_date}}",
        "body": "{{price}} {{amount_due}}",
    })

    result = response.json()
    assert result["subject"] == "Mittwoch, 14. Oktober 2026"
    assert result["body"].startswith("35,00 € ")
    assert result["problems"] == [
        "Für dieses Ereignis gibt es keinen Wert für: {{amount_due}}. Entfernen Sie ihn oder verwenden Sie "
        "einen der unter dem Text aufgeführten Platzhalter."]


def test_every_default_text_passes_the_check_a_tenant_copy_must_pass():
    for event in ev.EVENTS:
        for channel in ev.Channel.ALL:
            for language in ("de", "en"):
                builtin = default_template(event, channel, language)
                assert template_problems(event, f"{builtin.subject}\n{builtin.body}") == [], (event, channel, language)


def test_one_tenants_copy_is_never_used_for_another(
    owner, salon, physio, django_capture_on_commit_callbacks,
):
    owner.post(ADD, _confirmation("Salon-Text", "Salon Schmidt sagt: {{service_name}}"))
    physio_owner = _owner(physio, PHYSIO_HOST)

    listed = physio_owner.get(LIST)

    assert not any(entry["row"].customised for entry in listed.context["entries"])
    assert "Salon Schmidt sagt" not in listed.content.decode()
    with tenant_context(salon):
        salon_copy = NotificationTemplate.objects.get()
    assert physio_owner.get(f"/admin/notifications/notificationtemplate/{salon_copy.pk}/change/").status_code in (302, 404)
    with tenant_context(physio):
        from tests.fixtures.notifications import _cast

        cast = _cast()
        from appointments.models import Appointment

        starts = dt.datetime(2026, 10, 13, 12, 0, tzinfo=dt.UTC)
        appointment = Appointment.objects.create(
            customer=cast.maria, service=cast.haarschnitt, staff=cast.anna, branch=cast.branch, starts_at=starts,
            ends_at=starts + dt.timedelta(minutes=30), status="confirmed", source="phone", price_cents=3500)
        with django_capture_on_commit_callbacks(execute=True):
            services.notify_appointment_event("appointment_confirmed", appointment.pk)
        delivery = NotificationDelivery.objects.get()
    assert (delivery.template_source, delivery.subject) == ("default", "Terminbestätigung: Haarschnitt am Dienstag, 13. Oktober 2026")
